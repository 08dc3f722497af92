"""Which notebooks a run executes."""
from __future__ import annotations

import re
from pathlib import Path

from minutes import REPO_ROOT

NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
_NUMBERED = re.compile(r"^(\d{2})_[A-Za-z0-9_]+\.ipynb$")
#: Notebooks at or above this number run only when asked for explicitly (teardown).
EXPLICIT_FROM = 90


def discover(notebooks_dir: Path = NOTEBOOKS_DIR) -> list[Path]:
    """Every numbered notebook, in order."""
    found = [p for p in Path(notebooks_dir).glob("*.ipynb") if _NUMBERED.match(p.name)]
    return sorted(found, key=lambda p: p.name)


def number(path: Path) -> int:
    match = _NUMBERED.match(path.name)
    if not match:
        raise ValueError(f"{path.name} is not a numbered notebook")
    return int(match.group(1))


def parse_numbers(spec: str) -> list[int]:
    """"10,20" -> [10, 20]; each entry must be a two-digit notebook number."""
    out = []
    for part in spec.split(","):
        part = part.strip()
        if not re.fullmatch(r"\d{1,2}", part):
            raise ValueError(f"--only expects notebook numbers like 10,20; got {part!r}")
        out.append(int(part))
    return out


def select(notebooks: list[Path], only: list[int] | None = None, start: int | None = None,
           stop: int | None = None) -> list[Path]:
    """Apply --only / --from / --to. Teardown (90+) runs only if named or inside --to's range."""
    by_number = {number(p): p for p in notebooks}
    if only:
        missing = [n for n in only if n not in by_number]
        if missing:
            raise ValueError(f"no notebook numbered {missing}; have {sorted(by_number)}")
        return [by_number[n] for n in sorted(set(only))]
    lo = 0 if start is None else start
    hi = (EXPLICIT_FROM - 1) if stop is None else stop
    chosen = [p for n, p in sorted(by_number.items()) if lo <= n <= hi]
    if not chosen:
        raise ValueError(f"no notebooks between {lo:02d} and {hi:02d}")
    return chosen
