"""The ETL's utterances as one memory-mapped Arrow table, sorted by meeting and turn.

At 100k chunks the corpus holds about a million utterances: as Python dicts that is ~1 KB each
of service memory, as a mapped Arrow file only the pages a citation reads. The table is built
once from utterances.jsonl and cached beside the service state under a key of that file's
identity (size and modification time: the ETL replaces it atomically, so a new file has a new
key); later starts map the cached file.
"""
from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minutes.index.arrow_numpy import column_numpy
from minutes.io import read_json, write_json

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

log = logging.getLogger(__name__)

#: Cached tables kept per folder (the newest; older ETL outputs are removed).
KEEP = 2
#: Version of the cached table's layout (part of its key: a new layout rebuilds the cache).
FORMAT = 2
#: pyarrow's JSON reader block: a block must hold a whole line (QMSum turns run to ~20 KB).
BLOCK_BYTES = 32 << 20


def _schema() -> "pa.Schema":
    import pyarrow as pa

    return pa.schema([("meeting_id", pa.string()), ("idx", pa.int64()), ("speaker", pa.string()),
                      ("start", pa.float64()), ("end", pa.float64()), ("text", pa.string()),
                      ("source", pa.string()), ("timing", pa.string()), ("domain", pa.string()),
                      ("split", pa.string())])


#: Columns with few distinct values, stored dictionary-encoded (an int32 per row instead of a
#: string: a third of the file at 1.6M utterances, and fewer pages for a citation to touch).
CATEGORICAL = ("meeting_id", "speaker", "source", "timing", "domain", "split")


def _stored_schema() -> "pa.Schema":
    import pyarrow as pa

    return pa.schema([pa.field(f.name, pa.dictionary(pa.int32(), pa.string())) if f.name in CATEGORICAL else f
                      for f in _schema()])


def cache_key(path: Path) -> str:
    st = Path(path).stat()
    return hashlib.sha256(f"{FORMAT}:{st.st_size}:{st.st_mtime_ns}:{st.st_ino}".encode()).hexdigest()[:16]


def _build(jsonl: Path) -> "pa.Table":
    import pyarrow.json as pj

    schema = _schema()
    if Path(jsonl).stat().st_size == 0:
        return schema.empty_table()
    table = pj.read_json(str(jsonl), read_options=pj.ReadOptions(block_size=BLOCK_BYTES),
                         parse_options=pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="ignore"))
    table = table.select(schema.names).cast(schema)
    table = table.sort_by([("meeting_id", "ascending"), ("idx", "ascending")]).combine_chunks()
    return table.cast(_stored_schema()).unify_dictionaries().combine_chunks()


class UtteranceTable:
    """Read-only utterances by meeting: `rows(m)`, `span(m, lo, hi)`, `info(m)`."""

    def __init__(self, table: "pa.Table", meetings: dict[str, dict[str, Any]] | None = None) -> None:
        """`meetings`: what `summarize` computed for this table (else computed here)."""
        self.table = table
        meetings = meetings if meetings is not None else summarize(table)
        self._where = {m: (int(v["rows"][0]), int(v["rows"][1])) for m, v in meetings.items()}
        self._info = {m: {k: x for k, x in v.items() if k != "rows"} for m, v in meetings.items()}
        self._idx: "np.ndarray" = column_numpy(table.column("idx"))  # zero-copy: paged in as spans are read
        self._reader = _RangeReader(table)

    @classmethod
    def open(cls, jsonl: Path, cache_dir: Path) -> "UtteranceTable":
        """Map the cached Arrow copy of `jsonl`, building it first when the file changed. Its
        per-meeting facts are cached beside it, so a start reads none of the table's pages."""
        from minutes.index.store import open_ipc, write_table

        jsonl, cache_dir = Path(jsonl), Path(cache_dir)
        key = cache_key(jsonl)
        cached, facts = cache_dir / f"utterances-{key}.arrow", cache_dir / f"utterances-{key}.json"
        if not cached.is_file():
            log.info("building the utterance table from %s", jsonl)
            write_table(cached, _build(jsonl))
            facts.unlink(missing_ok=True)
            for old in sorted(cache_dir.glob("utterances-*.arrow"), key=os.path.getmtime)[:-KEEP]:
                if old != cached:
                    old.unlink(missing_ok=True)
                    old.with_suffix(".json").unlink(missing_ok=True)
        table = open_ipc(cached)
        meetings = None
        try:
            meetings = read_json(facts)
        except (FileNotFoundError, ValueError):
            meetings = summarize(table)
            write_json(facts, meetings)
        return cls(table, meetings)

    def __contains__(self, meeting_id: object) -> bool:
        return meeting_id in self._where

    def __len__(self) -> int:
        return len(self._where)

    def meeting_ids(self) -> list[str]:
        return list(self._where)

    def rows(self, meeting_id: str) -> list[dict[str, Any]]:
        """Every utterance of a meeting, in turn order (KeyError for an unknown meeting)."""
        lo, hi = self._where[meeting_id]
        return self._reader.records(lo, hi)

    def span(self, meeting_id: str, first: int, last: int) -> list[dict[str, Any]]:
        """The utterances of a meeting with first <= idx <= last ([] for an unknown meeting)."""
        import numpy as np

        if meeting_id not in self._where:
            return []
        lo, hi = self._where[meeting_id]
        idx = self._idx[lo:hi]
        a, b = int(np.searchsorted(idx, first, "left")), int(np.searchsorted(idx, last, "right"))
        return self._reader.records(lo + a, lo + max(a, b))

    def info(self, meeting_id: str) -> dict[str, Any]:
        return dict(self._info[meeting_id], speakers=list(self._info[meeting_id]["speakers"]))


def summarize(table: "pa.Table") -> dict[str, dict[str, Any]]:
    """Per meeting of a (meeting, idx)-sorted table: its row range and what GET /meetings shows.
    Aggregated by Arrow: a pandas frame of a million rows would leave its strings' memory with
    the process."""
    import numpy as np

    mids = column_numpy(table.column("meeting_id"))
    starts = np.flatnonzero(np.r_[True, mids[1:] != mids[:-1]]) if len(mids) else np.zeros(0, np.int64)
    bounds = np.r_[starts, len(mids)]
    rows = {str(mids[a]): [int(a), int(z)] for a, z in zip(bounds[:-1], bounds[1:])}
    del mids
    import pyarrow as pa

    plain = pa.table({c: table.column(c).cast(pa.string()) if pa.types.is_dictionary(table.column(c).type)
                      else table.column(c) for c in ("meeting_id", "idx", "end", "speaker", "domain", "split", "source")})
    grouped = plain.group_by("meeting_id", use_threads=False).aggregate(
        [("idx", "count"), ("end", "max"), ("speaker", "distinct"), ("domain", "first"),
         ("split", "first"), ("source", "first")])
    return {str(g["meeting_id"]): {
        "rows": rows[str(g["meeting_id"])], "domain": g["domain_first"] or "Other", "split": g["split_first"] or "",
        "n_utterances": int(g["idx_count"]), "duration_s": round(float(g["end_max"]), 1),
        "speakers": sorted(str(x) for x in g["speaker_distinct"]), "source": g["source_first"] or "manual"}
        for g in grouped.to_pylist()}


class _RangeReader:
    """Rows lo..hi of a table as the dicts utterances.jsonl held (absent optional fields left out,
    not None), column by column: each dictionary column's values are decoded once, and a range
    reads only its rows' indices. `Table.to_pylist` over a 20-row slice of the mapped table took
    ~15x longer, most of it re-decoding the dictionaries."""

    def __init__(self, table: "pa.Table") -> None:
        import numpy as np
        import pyarrow as pa

        self.names = list(table.column_names)
        decoded: dict[tuple[int, int], list[Any]] = {}  # unified dictionaries are shared by chunks
        self._columns: list[tuple["np.ndarray", list[tuple[Any, list[Any] | None]]]] = []
        for name in self.names:
            col = table.column(name)
            starts = np.cumsum([0] + [len(c) for c in col.chunks])
            chunks: list[tuple[Any, list[Any] | None]] = []
            for ch in col.chunks:
                if pa.types.is_dictionary(ch.type):
                    d = ch.dictionary
                    key = (d.buffers()[-1].address if d.buffers()[-1] is not None else 0, len(d))
                    values = decoded.setdefault(key, d.to_pylist())
                    chunks.append((ch, values))
                else:
                    chunks.append((ch, None))
            self._columns.append((starts, chunks))

    def _column(self, i: int, lo: int, hi: int) -> list[Any]:
        import numpy as np

        starts, chunks = self._columns[i]
        out: list[Any] = []
        first = max(0, int(np.searchsorted(starts, lo, "right")) - 1)
        for j in range(first, len(chunks)):
            a, z = max(lo, int(starts[j])), min(hi, int(starts[j + 1]))
            if a >= z:
                break
            ch, values = chunks[j]
            piece = ch.slice(a - int(starts[j]), z - a)
            if values is None:
                out += piece.to_pylist()
            elif piece.null_count:
                valid = piece.is_valid().to_pylist()
                out += [values[k] if ok else None for k, ok in zip(piece.indices.fill_null(0).to_pylist(), valid)]
            else:
                out += [values[k] for k in piece.indices.to_pylist()]
        return out

    def records(self, lo: int, hi: int) -> list[dict[str, Any]]:
        if hi <= lo:
            return []
        columns = [self._column(i, lo, hi) for i in range(len(self.names))]
        names = self.names
        return [{k: v for k, v in zip(names, row) if v is not None} for row in zip(*columns)]
