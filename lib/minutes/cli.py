"""Command line: `python -m minutes run ...` and friends."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from minutes.config import ParamsError, load_params
from minutes.pipeline.select import NOTEBOOKS_DIR, parse_numbers


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m minutes", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run numbered notebooks with papermill")
    run.add_argument("--profile", default=None,
                     help="params/<profile>.yaml (default: local; with --resume, the run's own)")
    run.add_argument("--only", help="comma-separated notebook numbers, e.g. 10,20 (or 99)")
    run.add_argument("--from", dest="start", type=int, help="first notebook number")
    run.add_argument("--to", dest="stop", type=int, help="last notebook number (99 includes teardown)")
    run.add_argument("--resume", metavar="RUN_ID",
                     help="continue a failed or killed run, found with the same --profile and -p as the "
                          "original run (or --runs-dir)")
    run.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE",
                     help="override a parameter, e.g. -p train.num_samples=2 (repeatable)")
    run.add_argument("--force", action="store_true", help="re-run stages even when cached")
    run.add_argument("--notebooks-dir", type=Path, default=NOTEBOOKS_DIR, help=argparse.SUPPRESS)
    run.add_argument("--runs-dir", type=Path, default=None, help="where run folders go")

    show = sub.add_parser("params", help="print the resolved parameters of a profile")
    show.add_argument("--profile", default="local")
    show.add_argument("-p", "--param", action="append", default=[], metavar="KEY=VALUE")

    idx = sub.add_parser("index", help="rebuild outputs/index.html")
    idx.add_argument("--runs-dir", type=Path, default=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    logging.getLogger("papermill").setLevel(logging.INFO)
    try:
        if args.command == "params":
            print(json.dumps(load_params(args.profile, args.param).model_dump(mode="json"), indent=2))
            return 0
        if args.command == "index":
            from minutes.reports.index import write_index

            print(write_index(args.runs_dir or load_params("local").runs_dir))
            return 0
        from minutes.pipeline.runner import PipelineFailed, RunRequest, run_pipeline

        overrides = list(args.param) + (["force=true"] if args.force else [])
        req = RunRequest(profile=args.profile, overrides=tuple(overrides),
                         only=parse_numbers(args.only) if args.only else None, start=args.start,
                         stop=args.stop, resume=args.resume, notebooks_dir=args.notebooks_dir,
                         runs_dir=args.runs_dir)
        try:
            run_pipeline(req)
        except PipelineFailed as exc:
            print(f"\nFAILED: {exc}", file=sys.stderr)
            return 1
        return 0
    except (ParamsError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
