"""Files written so that a reader sees the old or the new version, never half of one: SHA-256,
atomic writes, fsync and swaps."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def sha256(path: Path) -> str:
    """SHA-256 of a file, read by blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fsync_dir(directory: Path) -> None:
    """Make a rename inside ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_tree(folder: Path) -> None:
    """Flush every file of ``folder`` (links left alone), then the folder itself."""
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
    fsync_dir(folder)


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one rename (a hidden temporary file beside it)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def swap_symlink(link: Path, target: Path) -> None:
    """Point ``link`` at ``target`` in one rename: readers see the old or the new version."""
    temporary = link.with_name(f".{link.name}.swap-{os.getpid()}")
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(os.path.relpath(target, link.parent))
    os.replace(temporary, link)
    fsync_dir(link.parent)
