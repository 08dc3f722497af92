# %% [markdown]
# # 10 · ETL and speech-to-text
#
# Corpora in; cleaned, transcribed, validated, chunked and split data out. Every cell calls `minutes.data` / `minutes.asr`; this notebook only drives them and shows the results.
#
# **Where it runs.** local/ci: this machine's CPU, on a QMSum slice plus meetings synthesized with espeak-ng
# and transcribed by Whisper tiny.en (faster-whisper, int8). chameleon: QMSum plus AMI audio, transcribed
# on the GPU node through Ray.

# %% [markdown]
# **Parameters.** `profile` picks `params/<profile>.yaml` (default: the `MINUTES_PROFILE` environment variable, else `local`); `overrides` are `key.sub=value` strings; `run_dir` is set by the pipeline runner.

# %% tags=["parameters"]
import os

profile = os.environ.get("MINUTES_PROFILE", "local")  # set MINUTES_PROFILE=chameleon once, on the hub
overrides = []
run_dir = ""

# %%
import minutes.notebook as nb
ctx = nb.start('10_etl', profile, overrides, run_dir)
params = ctx.params

# %% [markdown]
# ## 1. Run the ETL stage
#
# Reads the QMSum meetings named by `data.qmsum` (its own train/val folders, sliced round-robin over the domains by `max_meetings_per_split`) and cleans the transcripts. Then the audio sources: on local/ci a few meetings are rendered to speech with espeak-ng (`data.synth`: a distinct voice per speaker, known turn times); a folder of your own recordings is added with `-p overrides '["data.folder.path=/path/to/recordings"]'` (any format ffmpeg reads, converted to 16 kHz mono; a `<name>.txt` beside a recording is its reference); on the chameleon profile the AMI Mix-Headset audio and NXT annotations are downloaded (`data.ami`). All recordings are transcribed with Whisper (`asr.*`: backend faster-whisper or openai-whisper, VAD, word timestamps, long audio in `asr.chunk_seconds` windows), as Ray tasks when there are several. Everything is then chunked with the embedding model's tokenizer and validated.
#
# Runs on this machine's CPU; on chameleon the transcription tasks go to the Ray cluster (`ray.address`) and the GPU. The stage is cached in `outputs/work/<profile>/etl/`: with unchanged inputs, parameters and code this cell does no work (`cached: True`); `-p overrides '["force=true"]'` redoes it.

# %%
from minutes.data import etl, report

manifest = etl.run_etl(params)
{k: manifest[k] for k in ('counts', 'timings')} | {'cached': manifest.get('cached', False)}

# %% [markdown]
# ## 2. What came out
#
# Products in the stage folder (other stages read these): `utterances.jsonl`, `queries.jsonl`, `meetings.jsonl`, `splits.json`, `chunks.parquet`, `validation.json` and, when audio was transcribed, `asr_wer.json`, `transcripts/` (one JSON of timed segments per recording) and `audio/`.

# %%
stage_dir = ctx.stage_dir('etl')
products = etl.load_products(stage_dir)
sorted(p.name for p in stage_dir.iterdir() if not p.name.startswith('.'))

# %% [markdown]
# Counts per domain (Product = AMI, Academic = ICSI, Committee = parliamentary committees) and per split. QMSum meetings keep QMSum's own split; synthesized and AMI recordings inherit the split of the meeting they render; a user's own recordings go to `test`.

# %%
report.domain_table(products['validation'])

# %%
import pandas as pd
pd.DataFrame(products['validation']['per_split']).T

# %% [markdown]
# ## 3. Cleaning and timing
#
# Annotation tags (`{vocalsound}`, `{disfmarker}`, `{gap}` ...) are dropped by the one cleaning rule of `minutes.text` (ingested transcripts go through the same); a turn left empty keeps its index (QMSum spans point at turn indices). QMSum has no timestamps: `start`/`end` are estimated from word counts at `data.qmsum.words_per_minute` and marked `timing: "estimated"`; transcribed meetings have real times.

# %%
utts = pd.DataFrame(products['utterances'])
utts.groupby(['source', 'timing']).size().rename('utterances').to_frame()

# %%
utts.head(8)[['meeting_id', 'idx', 'speaker', 'start', 'end', 'text']]

# %% [markdown]
# ## 4. Chunks
#
# Token windows of whole utterances (`data.chunks`: target, max, overlap, counted with the embedding model's tokenizer); an utterance longer than a window is split. Each chunk keeps meeting, utterance range, speakers, times, split and domain.

# %%
products['chunks'].head(5)[['chunk_id', 'utt_start', 'utt_end', 'speakers', 'start', 'end', 'n_tokens']]

# %%
fig = report.plot_lengths(products['utterances'], products['chunks'], params.data.chunks.max_tokens)

# %% [markdown]
# ## 5. Validation
#
# Schema, empty texts, duplicate ids, spans out of bounds, split disjointness. Bad input (unreadable or corrupt audio, invalid JSON, non-UTF-8, spans outside the transcript) is listed with file and reason; the batch went on without it (with `data.strict=true` the stage would have failed).

# %%
report.checks_table(products['validation'])

# %%
report.problems_table(products['validation'])

# %% [markdown]
# ## 6. Speech-to-text
#
# The transcribed recordings: segments with times and their speaker, and who speaks when. Speakers come from diarization (`asr.diarization`: Silero VAD, resemblyzer d-vectors of sliding windows, agglomerative clustering that estimates how many speak), as a user's own recording would get them, so they are `Speaker 1..n`; `asr.diarization.in_etl=false` takes them from the known turns instead.

# %%
report.transcript_table(stage_dir, limit=8)

# %%
fig = report.plot_asr_timeline(products['utterances'])

# %% [markdown]
# Word error rate of Whisper (`asr.backend`, `asr.model`) against the reference text (what was synthesized, or the AMI manual transcript), after Whisper's English normalization, per recording and pooled over all of them; `rtf` is transcription time over audio time. The evaluation notebook reads `asr_wer.json`. `python -m minutes.bench asr` compares both backends on the same audio.

# %%
report.asr_table(stage_dir)

# %% [markdown]
# What was said (the reference turns) beside what Whisper heard in the same seconds:

# %%
report.reference_vs_asr(stage_dir, limit=6)

# %% [markdown]
# ## 7. Who spoke when
#
# The synthesized (and AMI) recordings have known turns, so the diarization is scored on them: DER with a 0.25 s collar, split into missed speech, false alarm and speaker confusion, and cpWER (the speaker-attributed WER of meeting-ASR benchmarks, from `meeteval`) beside the plain WER. `rtf` is diarization time over audio time. `python -m minutes.bench diarize` measures the same on more meetings and on harder cases (short turns, overlapping speech, one voice for everyone).

# %%
report.diarization_table(stage_dir)

# %%
fig = report.diarization_timeline(stage_dir)

# %% [markdown]
# ## 8. Key figures
#
# Recorded into the run's `run.json` and the runs index.

# %%
figures = report.key_figures(products, stage_dir)
ctx.record(**figures, cached=bool(manifest.get('cached', False)))
figures
