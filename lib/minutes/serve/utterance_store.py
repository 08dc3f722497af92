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

from minutes.index.arrow_numpy import column_numpy, dictionary_codes
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

    def __init__(self, table: "pa.Table", meetings: dict[str, dict[str, Any]] | None = None,
                 mapped_from: Path | None = None) -> None:
        """`meetings`: what `summarize` computed for this table (else computed here);
        `mapped_from`: the IPC file `table` is mapped from (its text is then read by pread)."""
        self.table = table
        meetings = meetings if meetings is not None else summarize(table)
        self._where = {m: (int(v["rows"][0]), int(v["rows"][1])) for m, v in meetings.items()}
        names: dict[str, str] = {}  # one string per speaker name: a name recurs across meetings
        self._info = {m: {k: [names.setdefault(x_, x_) for x_ in x] if k == "speakers" else x
                          for k, x in v.items() if k != "rows"} for m, v in meetings.items()}
        self._reader = _RangeReader(table, mapped_from)
        #: turn numbers, to find a span's rows: read by pread with the span when mapped, else viewed
        self._idx: "np.ndarray | None" = None if mapped_from is not None else column_numpy(table.column("idx"))

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
        return cls(table, meetings, mapped_from=cached)

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
        idx = self._idx[lo:hi] if self._idx is not None else np.asarray(self._reader.values("idx", lo, hi))
        a, b = int(np.searchsorted(idx, first, "left")), int(np.searchsorted(idx, last, "right"))
        return self._reader.records(lo + a, lo + max(a, b))

    def info(self, meeting_id: str) -> dict[str, Any]:
        return dict(self._info[meeting_id], speakers=list(self._info[meeting_id]["speakers"]))


def summarize(table: "pa.Table") -> dict[str, dict[str, Any]]:
    """Per meeting of a (meeting, idx)-sorted table: its row range and what GET /meetings shows.
    Aggregated with numpy over dictionary codes: a pandas frame of a million rows would leave its
    strings' memory with the process, and Arrow's group_by loads Acero, whose import brings pandas."""
    import numpy as np

    mids = column_numpy(table.column("meeting_id"))
    starts = np.flatnonzero(np.r_[True, mids[1:] != mids[:-1]]) if len(mids) else np.zeros(0, np.int64)
    bounds = np.r_[starts, len(mids)].astype(np.int64)
    if not len(starts):
        return {}
    ends = column_numpy(table.column("end")).astype(np.float64)
    ends = np.where(np.isnan(ends), -np.inf, ends)
    end_max = np.maximum.reduceat(ends, starts)
    speaker_codes, speakers = dictionary_codes(table.column("speaker"))

    def firsts(name: str) -> list[Any]:
        codes, values = dictionary_codes(table.column(name))
        return [values[c] if c >= 0 else None for c in codes[starts].tolist()]

    domain, split, source = firsts("domain"), firsts("split"), firsts("source")
    out = {}
    for i, (a, z) in enumerate(zip(bounds[:-1].tolist(), bounds[1:].tolist())):
        names = sorted(str(speakers[c]) for c in np.unique(speaker_codes[a:z]).tolist() if c >= 0)
        out[str(mids[a])] = {"rows": [a, z], "domain": domain[i] or "Other", "split": split[i] or "",
                             "n_utterances": z - a, "duration_s": round(float(max(end_max[i], 0.0)), 1),
                             "speakers": names, "source": source[i] or "manual"}
    return out


class _RangeReader:
    """Rows lo..hi of a table as the dicts utterances.jsonl held (absent optional fields left out,
    not None), column by column: each dictionary column's values are decoded once, and a range
    reads only its rows' indices. `Table.to_pylist` over a 20-row slice of the mapped table took
    ~15x longer, most of it re-decoding the dictionaries."""

    def __init__(self, table: "pa.Table", mapped_from: Path | None = None) -> None:
        import numpy as np
        import pyarrow as pa

        from minutes.index.arrow_pread import PreadColumn

        self.names = list(table.column_names)
        decoded: dict[tuple[int, int], list[Any]] = {}  # unified dictionaries are shared by chunks
        self._columns: list[tuple["np.ndarray", list[tuple[Any, list[Any] | None]]]] = []
        #: a span is read positionally from the file, not through the map (minutes.index.arrow_pread)
        self._pread = ([PreadColumn(mapped_from, table.column(n), n) for n in self.names]
                       if mapped_from is not None else None)
        for name in self.names if self._pread is None else []:  # PreadColumn decodes its own
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

        if self._pread is not None:
            return self._pread[i].range(lo, hi)
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

    def values(self, name: str, lo: int, hi: int) -> list[Any]:
        """Column `name` of rows lo..hi."""
        return self._column(self.names.index(name), lo, hi)

    def records(self, lo: int, hi: int) -> list[dict[str, Any]]:
        if hi <= lo:
            return []
        columns = [self._column(i, lo, hi) for i in range(len(self.names))]
        names = self.names
        return [{k: v for k, v in zip(names, row) if v is not None} for row in zip(*columns)]
