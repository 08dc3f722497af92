"""`python -m minutes.serve --profile P [-p k=v]`: the API under uvicorn on serve.host:serve.port.

local_services starts it this way in the background (pid file, log, health check on /healthz).
"""
from __future__ import annotations

import argparse
import logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m minutes.serve", description=__doc__)
    parser.add_argument("--profile", default="local")
    parser.add_argument("-p", "--param", action="append", default=[], help="override, e.g. serve.port=8802")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)

    import os

    import uvicorn

    from minutes.notebook import configure_environment
    from minutes.config import load_params
    from minutes.serve.app import create_app

    params = load_params(args.profile, args.param)
    configure_environment(params)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # One intra-op thread per request thread, set before anything imports torch: torch reads it
    # at import, and is imported only by what needs it (the query embedder, the generator), so a
    # service without a torch model does not carry torch's ~180 MB.
    os.environ["OMP_NUM_THREADS"] = str(params.serve.torch_threads)
    app = create_app(params)
    # One worker: the live index and ingest lock live in this process. access_log off: at load-test
    # rates the log line costs more than the answer; /metrics counts every request instead.
    uvicorn.run(app, host=params.serve.host, port=params.serve.port, log_level=args.log_level,
                access_log=False, timeout_graceful_shutdown=5)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
