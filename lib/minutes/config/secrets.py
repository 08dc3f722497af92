"""What a credential's name looks like: the one rule shared by the params loader (which refuses
such keys) and the report scrubber (which masks their values)."""
from __future__ import annotations

import re

#: Words that name a credential. Whole words only, so `ingest_token` and `apiToken` count but
#: `chunk_tokens_mean` and `tokenizer` do not.
_SECRET_WORDS = re.compile(r"(?:^|_)(secret|password|passwd|token|api_?key|access_?key|private_?key|"
                           r"credentials?)(?:_|$)")


def secret_name(key: object) -> bool:
    """Whether a key names a credential, in snake, kebab, dotted or camelCase spelling."""
    words = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", str(key))
    return bool(_SECRET_WORDS.search(re.sub(r"[^A-Za-z0-9]+", "_", words).lower()))
