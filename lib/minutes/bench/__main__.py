"""`python -m minutes.bench [asr index train serve ...]`: run benchmarks and save their figures."""
from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import time

import minutes.bench as pkg
from minutes import REPO_ROOT
from minutes.io import write_json


def available() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_"))


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m minutes.bench")
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all of {available()})")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke run")
    args = parser.parse_args()
    names = args.names or available()
    out_dir = REPO_ROOT / "outputs" / "bench"
    for name in names:
        if name not in available():
            parser.error(f"unknown benchmark {name!r}; have {available()}")
        print(f"\n=== bench {name} ===", flush=True)
        t0 = time.time()
        result = importlib.import_module(f"minutes.bench.{name}").run(args)
        result["_seconds"] = round(time.time() - t0, 1)
        write_json(out_dir / f"{name}.json", result)
        print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
