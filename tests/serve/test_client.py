"""The notebook client: error details surface, and wait_ready retries until /readyz says 200."""
from __future__ import annotations

import httpx
import pytest

from minutes.serve.client import Client, ServiceError


def _client(handler) -> Client:
    client = Client("http://service.test")
    client.http = httpx.Client(base_url=client.base_url, transport=httpx.MockTransport(handler))
    return client


def test_wait_ready_retries_refused_and_unready_answers() -> None:
    answers = iter(["refused", 503, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        if answer == "refused":
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(answer, json={"ready": answer == 200})

    assert _client(handler).wait_ready(timeout_s=30, poll_s=0) == {"ready": True}
    assert next(answers, None) is None, "wait_ready stopped before /readyz answered 200"


def test_wait_ready_gives_up_with_a_timeout() -> None:
    client = _client(lambda request: httpx.Response(503, json={"ready": False}))
    with pytest.raises(TimeoutError, match="not ready after 0 s"):
        client.wait_ready(timeout_s=0, poll_s=0)


def test_error_status_carries_the_detail() -> None:
    client = _client(lambda request: httpx.Response(404, json={"detail": "unknown meeting 'x'"}))
    with pytest.raises(ServiceError, match="POST /minutes: 404 unknown meeting 'x'"):
        client.minutes("x")
