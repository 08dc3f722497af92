"""Chunk tables (schema.Chunk rows): loading, validation and a content hash."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from minutes import schema

if TYPE_CHECKING:
    import pandas as pd

#: Columns every chunk table carries, in schema order.
COLUMNS: list[str] = list(schema.Chunk.__annotations__)
#: Columns a Hit copies from its chunk.
HIT_COLUMNS: list[str] = [c for c in schema.Hit.__annotations__ if c not in ("score", "rank")]


class ChunkError(ValueError):
    """A chunk table breaks the schema; the message names the source, the column and the row."""


def validate(df: "pd.DataFrame", source: str = "chunks") -> "pd.DataFrame":
    """Check columns, ids and spans; returns the table with a clean index and schema column order."""
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise ChunkError(f"{source}: missing columns {missing} (expected {COLUMNS})")
    # Schema columns first; extra columns (e.g. the ETL's `source`) ride along.
    df = df[COLUMNS + [c for c in df.columns if c not in COLUMNS]].reset_index(drop=True)
    if df.empty:
        raise ChunkError(f"{source}: no chunks")
    dup = df["chunk_id"][df["chunk_id"].duplicated()]
    if len(dup):
        raise ChunkError(f"{source}: duplicate chunk_id {dup.iloc[0]!r} ({len(dup)} duplicates)")
    for col in ("chunk_id", "meeting_id", "text"):
        bad = df[col].isna() | (df[col].astype(str).str.strip() == "")
        if bad.any():
            i = int(bad.idxmax())
            raise ChunkError(f"{source}: column {col!r} is empty in row {i} (chunk {df['chunk_id'][i]!r})")
    bad = df["utt_start"] > df["utt_end"]
    if bad.any():
        i = int(bad.idxmax())
        raise ChunkError(f"{source}: row {i} (chunk {df['chunk_id'][i]!r}): utt_start > utt_end")
    df["speakers"] = df["speakers"].map(lambda s: [str(x) for x in (s if s is not None else [])])
    return df


def load(path: str | Path) -> "pd.DataFrame":
    """Read chunks.parquet and validate it."""
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no chunk table (run notebook 10_etl first)")
    return validate(pd.read_parquet(path), str(path))


def from_records(rows: Iterable[dict[str, Any]], source: str = "chunks") -> "pd.DataFrame":
    """A validated table from schema.Chunk dicts (the service's /ingest hands these over)."""
    import pandas as pd

    return validate(pd.DataFrame(list(rows)), source)


def data_hash(df: Any) -> str:
    """Hash of ids and texts in order: equal tables embed to equal vectors (pandas or Arrow)."""
    h = hashlib.sha256()
    ids, texts = ((df.column("chunk_id").to_pylist(), df.column("text").to_pylist()) if hasattr(df, "column")
                  else (df["chunk_id"], df["text"]))
    for cid, text in zip(ids, texts):
        h.update(str(cid).encode())
        h.update(b"\0")
        h.update(str(text).encode())
        h.update(b"\1")
    return h.hexdigest()
