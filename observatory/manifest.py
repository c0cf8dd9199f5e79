"""The drop zone's record, ``<raw>/manifest.json``: the raw files the published warehouse was
built from (``files``, written by ``observatory refresh``) and where downloaded files came from
(``downloads``, written by ``observatory download``). Each writer holds the lock while it reads
and rewrites the document, and keeps the other's part as it is."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

MANIFEST = "manifest.json"


@contextmanager
def lock(raw: Path) -> Iterator[None]:
    """Held while the manifest is read and rewritten (released when the process ends)."""
    with (raw / ".manifest.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def read(raw: Path) -> dict:
    """The whole manifest, ``{}`` when there is none or it cannot be read."""
    with suppress(OSError, ValueError):
        document = json.loads((raw / MANIFEST).read_text(encoding="utf-8"))
        if isinstance(document, dict):
            return document
    return {}


def write(raw: Path, document: dict) -> None:
    """Replace the manifest in one rename."""
    path = raw / MANIFEST
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(
        json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    os.replace(temporary, path)
