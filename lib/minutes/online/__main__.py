"""`python -m minutes.online simulate --profile P [-p k=v] [--url URL] [--rate R] [--duration S]
[--phases in-domain,held-back,off-topic] [--out records.jsonl]`: simulated users of a running
service (minutes.online.simulate); prints the per-phase summary table.

Without --url it targets the profile's service (serve.host:serve.port). --rate and --duration
apply to every phase; finer control (bursts, request caps) is `-p monitor.simulate.phases=[...]`.
"""
from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m minutes.online", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sim = sub.add_parser("simulate", help="replay evaluation questions as simulated users")
    sim.add_argument("--profile", default="local")
    sim.add_argument("-p", "--param", action="append", default=[], help="override, e.g. monitor.simulate.seed=3")
    sim.add_argument("--url", help="service base URL (default: the profile's serve.host:serve.port)")
    sim.add_argument("--rate", type=float, help="arrivals per second in every phase")
    sim.add_argument("--duration", type=float, help="seconds of every phase")
    sim.add_argument("--phases", help="comma-separated sources: in-domain, held-back, off-topic")
    sim.add_argument("--out", help="write one JSON line per request here")
    args = parser.parse_args(argv)

    from minutes.config import load_params
    from minutes.config.monitor import PhaseParams
    from minutes.io import write_jsonl
    from minutes.notebook import configure_environment
    from minutes.online.simulate import NotLoopback, check_loopback, pools_for, simulate

    params = load_params(args.profile, args.param)
    configure_environment(params)
    cfg = params.monitor.simulate
    phases = ([PhaseParams(source=s.strip()) for s in args.phases.split(",")] if args.phases
              else [p.model_copy() for p in cfg.phases])
    for ph in phases:
        if args.rate is not None:
            ph.rate = args.rate
        if args.duration is not None:
            ph.duration_s = args.duration
    cfg = cfg.model_copy(update={"phases": phases})
    url = args.url or f"http://{params.serve.host}:{params.serve.port}"
    try:
        check_loopback(url, cfg.allow_remote)
        result = simulate(url, pools_for(params), cfg)
    except (NotLoopback, FileNotFoundError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.out:
        write_jsonl(args.out, json.loads(result.records.to_json(orient="records")))
    print(result.summary().to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
