"""Everything one service process holds: parameters, corpus, live index, model, metrics, locks."""
from __future__ import annotations

import functools
import logging
import sys
import threading
from dataclasses import dataclass, field
from typing import Any

from minutes.config import Params
from minutes.online.answer_log import AnswerLog, open_answer_log
from minutes.online.drift import DriftMonitor
from minutes.serve.corpus import Corpus
from minutes.serve.generation import GenerationQueue
from minutes.serve.metrics import Metrics
from minutes.serve.model_watch import Loaded, ModelWatcher
from minutes.serve.speaker_names import SpeakerNames

log = logging.getLogger(__name__)


@dataclass
class ServiceState:
    params: Params
    corpus: Corpus
    retriever: Any
    watcher: ModelWatcher
    metrics: Metrics
    #: speakers renamed by PATCH /meetings/{id}/speakers (minutes.serve.speaker_names)
    speaker_names: SpeakerNames
    ingest_lock: threading.Lock = field(default_factory=threading.Lock)
    asr_lock: threading.Lock = field(default_factory=threading.Lock)
    #: the model workers of this process (requests queue; see serve.generation)
    generation: GenerationQueue = field(default_factory=GenerationQueue)
    minutes_cache: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: every answer and its feedback (minutes.online.answer_log); None: not logged
    answer_log: AnswerLog | None = None
    #: drift of the questions asked (serve.drift_watch); None: off
    drift: DriftMonitor | None = None

    @functools.cache
    def tokenizer(self) -> Any:
        """The embedding model's tokenizer, which chunking counts tokens with."""
        from minutes.data.chunking import load_tokenizer

        return load_tokenizer(self.params.index.embedding_model)

    def index_size(self) -> int:
        return len(self.retriever)

    def refresh_gauges(self) -> None:
        self.metrics.index_chunks.set(self.index_size())
        self.metrics.index_meetings.set(len(self.corpus))

    def on_model_change(self, loaded: Loaded) -> None:
        self.metrics.set_model(self.params.serve.model_alias, loaded.version)
        self.minutes_cache.clear()

    __hash__ = object.__hash__  # functools.cache on a method needs a hashable self


def build_state(params: Params, metrics: Metrics | None = None, watch: bool = True) -> ServiceState:
    """Load the corpus and the live index, re-add meetings ingested before a restart that the
    index lost (e.g. notebook 20 rebuilt it), and read the model alias once."""
    from minutes.index.embed import embedder_for
    from minutes.index.retriever import Retriever

    corpus = Corpus.load(params.stage_dir("etl"), params.stage_dir("serve") / "ingested")
    query_backend = params.serve.query_backend
    embedder = (None if query_backend == "index"
                else embedder_for(params, query_backend, threads=params.serve.torch_threads))
    if "torch" in sys.modules:  # loaded by the embedder: one intra-op thread per request thread
        sys.modules["torch"].set_num_threads(params.serve.torch_threads)
    retriever = Retriever.open(params, embedder, mmap=True)
    metrics = metrics or Metrics()
    names = SpeakerNames(params.stage_dir("serve") / "speakers")
    state = ServiceState(params, corpus, retriever, ModelWatcher(params), metrics, names,
                         answer_log=open_answer_log(params), generation=GenerationQueue.for_params(params))
    state.watcher._on_change = state.on_model_change
    from minutes.serve.drift_watch import drift_monitor

    state.drift = drift_monitor(params, retriever, metrics)
    if state.drift is not None:
        state.drift.fit()  # embeds the reference questions (~2 s for 400 on local) before /readyz
    indexed = set(retriever.meeting_ids())
    for mid in corpus.ingested_ids():
        if mid not in indexed:
            from minutes.data.chunking import chunk_meeting

            log.info("re-adding ingested meeting %s to the index", mid)
            retriever.add_chunks(chunk_meeting(corpus.utterances(mid), state.tokenizer(), params.data.chunks))
    apply_speaker_names(state)
    state.on_model_change(state.watcher.current)
    # Load the query embedder now, so /readyz means ready and the first /ask is not seconds slow.
    retriever.search("warm up", 1, method="hybrid")  # embedder and BM25, whichever `auto` picks
    if watch:
        state.watcher.refresh()
    state.refresh_gauges()
    return state



def apply_speaker_names(state: ServiceState) -> None:
    """Bring corpus and index in line with the stored speaker renames: the corpus was loaded with
    the original names, the index may lack the newest renames (a crash) or all (a rebuild)."""
    from minutes.serve.speaker_names import missing_in_index

    applied: dict[str, list[dict[str, str]]] = {}
    for entry in state.retriever.manifest.get("renamed", []):
        applied.setdefault(entry["meeting_id"], []).append(entry["mapping"])
    for mid in state.speaker_names.meetings():
        if mid not in state.corpus:
            continue
        stored = state.speaker_names.patches(mid)
        todo = missing_in_index(stored, applied.get(mid, []))
        if todo is None:
            log.warning("index renames of meeting %s differ from the stored ones; citations keep the "
                        "stored names, retrieval the index's until the index is rebuilt", mid)
        for mapping in todo or []:
            state.retriever.rename_speakers(mid, mapping)
        for mapping in stored:
            state.corpus.rename(mid, mapping)
