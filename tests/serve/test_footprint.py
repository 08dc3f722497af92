"""What the running service has loaded: a library it has no use for is resident memory for its
whole life (pandas alone was ~30 MB at 100k chunks), so a stray import is a defect."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from minutes.platform.processes import Service
from tests.serve.conftest import TOKEN, free_port


def test_a_restarted_service_maps_no_pandas_torch_or_parquet(serve_env: dict[str, Any], http: Any) -> None:
    """The first start on a work dir exports the int8 query model (torch, sentence-transformers);
    a start that finds the export, as after 20_index, carries none of them once it has answered:
    not torch (transformers' tokenizer imported it), not pandas (Arrow's group_by imports it,
    and pyarrow.to_pandas_dtype), not pyarrow.parquet."""
    if not Path("/proc/self/maps").is_file():
        pytest.skip("no /proc here")
    assert http.post("/ask", json={"question": "what about the battery?"}).status_code == 200  # export cached
    params, port = serve_env["params"], free_port()
    argv = [sys.executable, "-m", "minutes.serve", "--profile", "ci", "--log-level", "warning"]
    for o in [*serve_env["overrides"], f"serve.port={port}"]:
        argv += ["-p", o]
    svc = Service("api-footprint", params.stage_dir("serve"), f"http://127.0.0.1:{port}/healthz")
    pid = svc.start(argv, env={params.serve.ingest_token_env: TOKEN, "MLFLOW_TRACKING_URI": serve_env["mlflow_uri"]},
                    wait_s=120)
    try:
        asked = httpx.post(f"http://127.0.0.1:{port}/ask", json={"question": "who decided on the buttons?"}, timeout=30)
        assert asked.status_code == 200
        libs = {line.split()[-1] for line in Path(f"/proc/{pid}/maps").read_text().splitlines() if ".so" in line}
    finally:
        svc.stop()
    assert any("/faiss/" in lib for lib in libs)  # the reading works: the service's own engines show
    # pyarrow.parquet's extension module (libparquet itself is a link dependency of pyarrow)
    unwanted = sorted({lib.split("site-packages/")[-1] for lib in libs
                       if any(f"/{name}/" in lib for name in ("pandas", "torch", "sklearn"))
                       or "pyarrow/_parquet" in lib})
    assert unwanted == []
