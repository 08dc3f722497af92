"""The shared rule for credential-looking names (params refuse them, reports mask them)."""
from __future__ import annotations

import pytest

from minutes.config.secrets import secret_name


@pytest.mark.parametrize("key", ["token", "ingest_token", "MINUTES_INGEST_TOKEN", "apiToken", "api_key", "apikey",
                                 "aws-secret-access-key", "OS_PASSWORD", "os.password", "accessKey",
                                 "application_credential_secret", "credentials", "private_key", "passwd"])
def test_credential_names(key: str) -> None:
    assert secret_name(key)


@pytest.mark.parametrize("key", ["chunk_tokens_mean", "max_source_tokens", "tokenizer", "n_tokens",
                                 "secretary", "keyboard", "access_log", "tokens_per_s", "profile"])
def test_ordinary_names(key: str) -> None:
    assert not secret_name(key)
