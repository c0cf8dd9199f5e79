"""The drop zone's record, ``<raw>/manifest.json``: the raw files the published warehouse was
built from (``files``, written by ``observatory refresh``) and where downloaded files came from
(``downloads``, written by ``observatory download``). Each writer holds the lock while it reads
and rewrites the document, and keeps the other's part as it is.

The drop zone itself is held (``hold``) by a download for as long as it runs, and by a refresh
while it lists and loads the raw files: a refresh never reads a zone whose files are being
replaced, and a download never moves files under a refresh that reads them."""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path

from observatory import fsutil
from observatory.errors import ObservatoryError

MANIFEST = "manifest.json"
ZONE_LOCK = Path(".downloads") / ".lock"  # in the staging folder of observatory download
DOWNLOAD, REFRESH = "téléchargement", "actualisation"


class ZoneBusy(ObservatoryError, RuntimeError):
    """Another process holds the drop zone; ``holder`` is what it wrote of itself (« actualisation :
    pid 12 sur hôte, depuis le 01/03/2026 à 04:00:00 »), empty if it wrote nothing."""

    def __init__(self, holder: str):
        super().__init__(holder)
        self.holder = holder

    @property
    def by_refresh(self) -> bool:
        return self.holder.startswith(REFRESH)


@contextmanager
def hold(raw: Path, what: str) -> Iterator[None]:
    """The drop zone for this process alone (``what``: DOWNLOAD or REFRESH), or ``ZoneBusy`` at
    once; released when the block ends or the process dies (flock)."""
    path = raw / ZONE_LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise ZoneBusy(handle.read().strip()) from None
        handle.truncate(0)
        handle.write(
            f"{what} : pid {os.getpid()} sur {socket.gethostname()}, depuis le "
            f"{datetime.now():%d/%m/%Y à %H:%M:%S}\n"
        )
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)


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
    fsutil.write_atomic(path, json.dumps(document, ensure_ascii=False, indent=1) + "\n")
