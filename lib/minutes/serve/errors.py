"""The one exception the service's code raises for bad input: it carries its HTTP status."""
from __future__ import annotations

from pathlib import Path


class ApiError(Exception):
    """Bad input or an unavailable resource; answered as {"detail": message} with `status`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def without_dir(text: str, directory: Path) -> str:
    """`text` with the server directory `directory` cut out (tools name files by absolute path)."""
    return text.replace(f"{directory}/", "").replace(str(directory), "<upload>")
