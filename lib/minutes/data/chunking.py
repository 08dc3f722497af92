"""Chunks: token windows over a meeting's utterances, for the embedding index and the service.

Tokens are counted with the embedding model's own tokenizer. A chunk takes whole utterances, one
"Speaker: text" line each, until it reaches `target_tokens` (never passing `max_tokens`). The
next chunk starts with the longest run of trailing utterances of the previous one that fits in
`overlap_tokens`, so context carries over without repeating much. An utterance longer than
`max_tokens` on its own is split at token boundaries into windows of at most `max_tokens`
(sharing `overlap_tokens`), each its own chunk. Empty utterances add no text but stay inside the
utterance ranges, so ranges line up with QMSum's turn spans.
"""
from __future__ import annotations

from typing import Any, Sequence

from minutes.config.data import ChunkParams
from minutes.schema import Chunk


def load_tokenizer(embedding_model: str = "packaged") -> Any:
    """The tokenizer of the embedding model the index uses (index.embedding_model)."""
    from transformers import AutoTokenizer

    from minutes.models import packaged_embedding_path, resolve

    packaged = packaged_embedding_path() if embedding_model == "packaged" else None
    tokenizer = AutoTokenizer.from_pretrained(resolve(embedding_model, packaged))
    # We only count tokens (long utterances are split below); silence the "longer than the
    # model's maximum" warning that counting a long utterance would print.
    tokenizer.model_max_length = 10**9
    return tokenizer


#: What separates a speaker from their words in a chunk line; speaker names may not hold it.
SPEAKER_SEP = ": "


def _line(u: dict[str, Any]) -> str:
    return f"{u['speaker']}{SPEAKER_SEP}{u['text']}"


def rename_speakers_in_text(text: str, mapping: dict[str, str]) -> str:
    """A chunk's text with its lines' speakers renamed (all at once, so names can swap)."""
    out = []
    for line in text.split("\n"):
        speaker, sep, body = line.partition(SPEAKER_SEP)
        out.append(f"{mapping.get(speaker, speaker)}{sep}{body}" if sep else line)
    return "\n".join(out)


def chunk_meeting(utterances: Sequence[dict[str, Any]], tokenizer: Any, chunk_params: ChunkParams) -> list[Chunk]:
    """Chunks of one meeting's utterances (given in idx order). Chunk ids are
    f"{meeting_id}#{n:04d}" in order; each chunk carries the meeting's split and domain."""
    if not utterances:
        return []
    utts = sorted(utterances, key=lambda u: u["idx"])
    meeting_ids = {u["meeting_id"] for u in utts}
    if len(meeting_ids) != 1:
        raise ValueError(f"chunk_meeting expects one meeting's utterances, got {sorted(meeting_ids)}")
    lines = [_line(u) if u["text"].strip() else "" for u in utts]
    n_tok = [len(ids) for ids in tokenizer(lines, add_special_tokens=False)["input_ids"]] if any(lines) else [0] * len(lines)
    p = chunk_params
    chunks: list[Chunk] = []

    def emit(lo: int, hi: int) -> None:
        text = "\n".join(lines[k] for k in range(lo, hi + 1) if lines[k])
        if text:
            chunks.append(_chunk(utts, lo, hi, text, sum(n_tok[lo:hi + 1]), len(chunks)))

    i, n = 0, len(utts)
    while i < n:
        if n_tok[i] > p.max_tokens:  # one utterance longer than a window: split it
            for text, tokens, frac in _split_long(lines[i], tokenizer, p):
                chunks.append(_chunk(utts, i, i, text, tokens, len(chunks), frac))
            i += 1
            continue
        j, total = i, 0
        while j < n and n_tok[j] <= p.max_tokens and total + n_tok[j] <= p.max_tokens and (total < p.target_tokens or n_tok[j] == 0):
            total += n_tok[j]
            j += 1
        emit(i, j - 1)
        if j >= n:
            break
        # Overlap: trailing whole utterances of this chunk that fit in overlap_tokens.
        k, carried = j, 0
        # It never swallows the whole chunk, and leaves room for utterance j (progress).
        while (k - 1 > i and carried + n_tok[k - 1] <= p.overlap_tokens and n_tok[j] <= p.max_tokens
               and carried + n_tok[k - 1] + n_tok[j] <= p.max_tokens):
            carried += n_tok[k - 1]
            k -= 1
        while k < j and n_tok[k] == 0:  # do not start a chunk on empty turns
            k += 1
        i = k
    return chunks


def _split_long(line: str, tokenizer: Any, p: ChunkParams) -> list[tuple[str, int, tuple[float, float]]]:
    """Windows of one over-long line: (text, tokens, (start fraction, end fraction) of the line).
    Text is cut from the original string at token offsets, so casing and spacing survive."""
    speaker, _, body = line.partition(SPEAKER_SEP)
    prefix = f"{speaker}{SPEAKER_SEP}"
    prefix_tokens = len(tokenizer(prefix, add_special_tokens=False)["input_ids"])
    budget = max(8, p.max_tokens - prefix_tokens)
    step = max(1, budget - p.overlap_tokens)
    enc = tokenizer(body, add_special_tokens=False, return_offsets_mapping=True)
    offsets = enc["offset_mapping"]
    out = []
    for lo in range(0, len(offsets), step):
        hi = min(lo + budget, len(offsets))
        a, b = offsets[lo][0], offsets[hi - 1][1]
        out.append((prefix + body[a:b], hi - lo + prefix_tokens, (a / max(1, len(body)), b / max(1, len(body)))))
        if hi == len(offsets):
            break
    return out


def _chunk(utts: Sequence[dict[str, Any]], lo: int, hi: int, text: str, n_tokens: int, n: int,
           frac: tuple[float, float] | None = None) -> Chunk:
    first, last = utts[lo], utts[hi]
    start, end = float(first["start"]), float(last["end"])
    if frac is not None:  # a window inside one utterance: interpolate its times
        start, end = start + (end - start) * frac[0], start + (end - start) * frac[1]
    speakers = list(dict.fromkeys(u["speaker"] for u in utts[lo:hi + 1] if u["text"].strip()))
    return Chunk(
        chunk_id=f"{first['meeting_id']}#{n:04d}", meeting_id=first["meeting_id"], split=first.get("split", ""),
        domain=first.get("domain", ""), utt_start=int(first["idx"]), utt_end=int(last["idx"]),
        speakers=speakers, start=round(start, 3), end=round(end, 3), text=text, n_tokens=int(n_tokens),
        source=first.get("source", "manual"),
    )
