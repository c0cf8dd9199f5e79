"""The drop zone of ``observatory refresh``, ``data/raw/<source>/<vintage>/<file>``, read so that
no link can bring in a file from elsewhere, not even one swapped in while the refresh runs.

Each file is opened once, beneath the zone: from a descriptor of the zone's root (the zone itself
may be a link, a mounted volume say), each folder is opened relative to its parent's descriptor
with ``O_NOFOLLOW | O_DIRECTORY``, then the file with ``O_NOFOLLOW``, and ``fstat`` says a
regular file (Python 3.11's ``os`` has no ``openat2`` and its ``RESOLVE_BENEATH``). A link, to a
file or a folder, is refused without its target being read, whether it was there when the zone
was listed or swapped in between the listing and the open.

The file is then *staged* from that descriptor into a private folder of the run (mode 0700,
beside the warehouse being built), under the same ``<source>/<vintage>/<file>`` path so that its
name says the same (suffix, year, vintage folder), and its SHA-256, the one the manifest records,
is computed from the descriptor. The loads read the staged file and never the drop zone again: a
file or a folder of the zone swapped for a link after the scan reaches nothing. Everything a user
reads names the file by its drop-zone path (:func:`staged`).

Staging is a hard link made through the descriptor (``/proc/self/fd/N``): no byte is copied,
whatever the size (a 1 GB CSV: 1.35-1.45 s to scan with the link, as without staging, all of it
the checksum; the 2.7 MB SIRENE extract of tests/data/real: 1.8 ms either way). When the system
refuses it (the zone on another file system, ``EXDEV``; a file of another user under
``fs.protected_hardlinks``, ``EPERM``), the file is copied through the descriptor inside the
kernel (``sendfile``) and the copy is checksummed: 1 GB in 2.1-2.3 s against 1.6-1.7 s for the
checksum alone (6.6 ms for the extract), and the space of the raw files beside the warehouse for
the run (a copy through Python's buffers took 6 to 11 s per GB). Handing DuckDB
``/proc/self/fd/N`` instead would not be enough: the readers also open files from Python
(encoding detection, zip extraction, xlrd, openpyxl) and recognise them by their suffix. A hard
link shares the file's content: whoever may write the file itself can still change it in place
after the scan, but only with content of their own, never with a file they could not read; the
load records the checksum of what it read in ``sources``.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from observatory import manifest
from observatory.ingest.files import Staged
from observatory.ingest.pipeline import READERS

IGNORED_FILES = {"README.md", manifest.MANIFEST}
STAGE = "raw"  # the run folder's sub-folder holding the staged files
BLOCK = 1 << 20
COPY_BLOCK = 1 << 28
FOLDER_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC
# O_NONBLOCK: a FIFO swapped in for a file does not block the open (fstat then refuses it).
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
# Why a file or folder of the zone could not be opened, in French.
OPEN_ERRORS = {
    errno.ENOENT: "disparu depuis la liste des fichiers",
    errno.ENOTDIR: "n'est plus un dossier",
    errno.EACCES: "lecture non autorisée",
    errno.EPERM: "lecture non autorisée",
}


@dataclass
class RawInput:
    """One raw file found in the drop zone."""

    file: str  # relative to the raw folder
    source: str
    vintage: str
    sha256: str
    bytes: int
    modified: str
    new: bool = True


def scan_raw(
    raw: Path, known: dict[str, str] | None = None, run_folder: Path | None = None
) -> list[RawInput]:
    """Raw files in ``raw/<source>/<vintage>/``, oldest vintage first; ``new`` when their path
    and checksum are not in ``known`` (the last manifest). Each file is opened once, beneath the
    zone, and staged into ``run_folder`` when one is given (see the module). A symbolic link in
    the drop zone stops the scan, its target unread."""
    known = known or {}
    if not raw.is_dir():
        return []
    stage = None
    if run_folder is not None:
        stage = run_folder / STAGE
        stage.mkdir(mode=0o700, parents=True)
    root = _open_at(raw, None, (), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        inputs = []
        for parts in _files(raw, root, ()):
            path = raw.joinpath(*parts)
            if parts[-1] in IGNORED_FILES:
                continue
            if len(parts) != 3:
                raise ValueError(
                    f"{path} : les fichiers bruts se rangent dans "
                    f"{raw}/<source>/<millésime>/ (sources : {', '.join(READERS)})"
                )
            if parts[0] not in READERS:
                raise ValueError(
                    f"{path} : dossier de source inconnu « {parts[0]} » "
                    f"(attendu : {', '.join(READERS)})"
                )
            inputs.append(_read(raw, root, parts, stage, known))
    finally:
        os.close(root)
    return inputs


def staged(raw: Path, run_folder: Path, item: RawInput) -> Staged:
    """What a load reads for ``item``: its staged file, named by its drop-zone path (the zone's
    root resolved, as ``observatory ingest`` names a file, the rest as scanned)."""
    return Staged(raw.resolve() / item.file, run_folder / STAGE / item.file)


def _files(raw: Path, folder: int, parts: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The regular files beneath the open ``folder`` (hidden ones left out), sorted, as path
    parts from the zone's root; listed without following links: a link is refused unread."""
    found = []
    for name in os.listdir(folder):
        if name.startswith("."):
            continue
        here = (*parts, name)
        try:
            mode = os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode
        except OSError as exc:
            raise _unreadable(raw, here, exc) from None
        if stat.S_ISLNK(mode):
            raise _link_refused(raw, here)
        if stat.S_ISDIR(mode):
            inner = _open_at(raw, folder, here, FOLDER_FLAGS)
            try:
                found += _files(raw, inner, here)
            finally:
                os.close(inner)
        elif stat.S_ISREG(mode):
            found.append(here)
    return sorted(found)


def _read(
    raw: Path, root: int, parts: tuple[str, ...], stage: Path | None, known: dict[str, str]
) -> RawInput:
    """Open the file once, check it is a regular file, checksum it and stage it."""
    relative = "/".join(parts)
    folders = [root]
    try:
        for depth in range(1, len(parts)):
            folders.append(_open_at(raw, folders[-1], parts[:depth], FOLDER_FLAGS))
        descriptor = _open_at(raw, folders[-1], parts, FILE_FLAGS)
    finally:
        for folder in folders[1:]:
            os.close(folder)
    try:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise ValueError(
                f"{raw.joinpath(*parts)} : pas un fichier ordinaire, refusé sans être lu"
            )
        if stage is None:
            digest = _sha256(descriptor)
        else:
            try:
                digest = _stage(descriptor, stage / relative)
            except OSError as exc:  # no room left for a copy, say
                why = errno.errorcode.get(exc.errno, "erreur")
                raise ValueError(
                    f"{raw.joinpath(*parts)} : copie impossible dans le dossier de travail de "
                    f"l'actualisation ({why})"
                ) from None
    finally:
        os.close(descriptor)
    return RawInput(
        relative,
        parts[0],
        parts[1],
        digest,
        status.st_size,
        datetime.fromtimestamp(status.st_mtime).astimezone().isoformat(timespec="seconds"),
        new=known.get(relative) != digest,
    )


def _open_at(raw: Path, folder: int | None, parts: tuple[str, ...], flags: int) -> int:
    """Open ``parts[-1]`` in the open ``folder`` (the zone's root itself without one), never
    following a link when ``flags`` say ``O_NOFOLLOW``."""
    try:
        return os.open(parts[-1] if parts else raw, flags, dir_fd=folder)
    except OSError as exc:
        if exc.errno == errno.ENOTDIR and folder is not None:  # a folder swapped for a link?
            with suppress(OSError):
                if stat.S_ISLNK(os.stat(parts[-1], dir_fd=folder, follow_symlinks=False).st_mode):
                    raise _link_refused(raw, parts) from None
        raise _unreadable(raw, parts, exc) from None


def _unreadable(raw: Path, parts: tuple[str, ...], exc: OSError) -> ValueError:
    if exc.errno == errno.ELOOP:  # O_NOFOLLOW met a link in place of a file
        return _link_refused(raw, parts)
    why = OPEN_ERRORS.get(exc.errno, errno.errorcode.get(exc.errno, "erreur"))
    return ValueError(
        f"{raw.joinpath(*parts)} : illisible dans le dépôt des fichiers bruts ({why}), "
        "refusé sans être lu"
    )


def _link_refused(raw: Path, parts: tuple[str, ...]) -> ValueError:
    return ValueError(
        f"{raw.joinpath(*parts)} : lien symbolique refusé dans le dépôt des fichiers bruts {raw} "
        "(copiez-y le fichier lui-même) ; sa cible n'a pas été lue"
    )


def _stage(descriptor: int, target: Path) -> str:
    """Stage the open file at ``target`` and return its SHA-256: a hard link made through the
    descriptor, or a copy through it when the system refuses the link."""
    target.parent.mkdir(parents=True, exist_ok=True)
    folder = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        # With a folder descriptor, os.link calls linkat(…, AT_SYMLINK_FOLLOW), which links the
        # file the descriptor's magic link points to; plain link() would link the magic link.
        os.link(f"/proc/self/fd/{descriptor}", target.name, dst_dir_fd=folder)
    except OSError:
        return _copy(descriptor, target)
    finally:
        os.close(folder)
    return _sha256(descriptor)


def _copy(descriptor: int, target: Path) -> str:
    """Copy the open file to ``target`` inside the kernel (``sendfile``), then checksum the copy:
    the bytes the loads will read."""
    copy = os.open(target, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        while os.sendfile(copy, descriptor, None, COPY_BLOCK):
            pass
        os.lseek(copy, 0, os.SEEK_SET)
        return _sha256(copy)
    finally:
        os.close(copy)


def _sha256(descriptor: int) -> str:
    digest = hashlib.sha256()
    while block := os.read(descriptor, BLOCK):
        digest.update(block)
    return digest.hexdigest()
