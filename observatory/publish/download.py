"""``observatory download``: the publishers' open files into the drop zone, ready for
``observatory refresh``.

The files and their publishers are described in :mod:`observatory.publish.sources`.

Each file is written in ``<raw>/.downloads/`` (a hidden folder the refresh ignores) as a
``.part`` that a later run resumes with an HTTP Range request; its size and checksum are checked
against what the publisher states; only when every requested file is complete and checked do
they move into ``<raw>/<source>/<vintage>/`` (``os.replace``), and the manifest records where
each came from. Any failure leaves the drop zone as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, TextColumn
from rich.text import Text

from observatory import formatting, fsutil, settings
from observatory.ingest import manifest
from observatory.publish.sources import (
    ATTEMPTS,
    BACKOFF,
    SOURCES,
    DownloadError,
    Remote,
    Transient,
    looks_like_html,
    open_url,
    resolve,
    retrying,
)

STAGING = manifest.ZONE_LOCK.parent.name  # .downloads, which the refresh ignores
CHUNK = 1 << 20
# Checksum types of data.gouv.fr (udata's CHECKSUM_TYPES) that can be checked here.
HASHES = {"sha1": "sha1", "sha2": "sha256", "sha256": "sha256", "md5": "md5"}
MAGIC = {"zip": b"PK\x03\x04", "parquet": b"PAR1"}


@dataclass
class Fetched:
    """A file made ready, or found already in the drop zone."""

    remote: Remote
    staged: Path | None = None  # the complete, checked file in the staging folder
    bytes: int = 0
    sha256: str = ""
    checked: list[str] = field(default_factory=list)  # what was verified, in French
    seconds: float = 0.0
    up_to_date: bool = False


# -- one file ----------------------------------------------------------------------------------


class _Staged:
    """The ``.part`` file of one remote in the staging folder, with the fingerprint of the
    version it holds and the validators the server gave for it."""

    def __init__(self, staging: Path, remote: Remote):
        folder = staging / remote.source
        folder.mkdir(parents=True, exist_ok=True)
        self.part = folder / f"{remote.name}.part"
        self.state_path = folder / f"{remote.name}.part.json"
        self.remote = remote
        try:
            self.state = json.loads(self.state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.state = {}
        if self.state.get("fingerprint") != remote.fingerprint():
            self.discard()

    @property
    def size(self) -> int:
        return self.part.stat().st_size if self.part.exists() else 0

    def discard(self) -> None:
        self.part.unlink(missing_ok=True)
        self.state = {"fingerprint": self.remote.fingerprint()}
        self.save()

    def save(self) -> None:
        self.state_path.write_text(json.dumps(self.state, ensure_ascii=False), encoding="utf-8")

    def forget(self) -> None:
        self.part.unlink(missing_ok=True)
        self.state_path.unlink(missing_ok=True)


def _fetch(
    remote: Remote,
    staging: Path,
    on_bytes: Callable[[int, int | None], None],
    attempts: int,
    backoff: float,
) -> Fetched:
    """Download (or resume) one file into the staging folder and check it."""
    staged = _Staged(staging, remote)
    started = time.perf_counter()
    retrying(lambda: _receive(staged, on_bytes), remote.url, attempts, backoff)
    fetched = _check(staged)
    fetched.seconds = time.perf_counter() - started
    return fetched


def _receive(staged: _Staged, on_bytes: Callable[[int, int | None], None]) -> None:
    """One request: the rest of the file from where the ``.part`` stops (a Range request,
    ``If-Range`` the validator of the first answer), or all of it."""
    remote, offset = staged.remote, staged.size
    if remote.size is not None and offset > remote.size:
        staged.discard()
        offset = 0
    if remote.size is not None and offset == remote.size:  # complete in an earlier run
        on_bytes(offset, offset)
        return
    headers = {}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        validator = staged.state.get("etag") or staged.state.get("last_modified")
        if validator:
            headers["If-Range"] = validator
    try:
        response = open_url(remote.url, headers)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # nothing left to send: complete, or another file
            total = _content_range(exc.headers.get("Content-Range"))[1]
            if total == offset or (total is None and remote.size == offset):
                on_bytes(offset, offset)
                return
            staged.discard()
            raise Transient(
                "reprise refusée par le serveur ; nouvel essai depuis le début"
            ) from None
        raise
    with response:
        if "html" in (response.headers.get("Content-Type") or "").lower():
            staged.discard()
            raise DownloadError(
                f"{remote.url} : le serveur a renvoyé une page HTML au lieu du fichier attendu"
            )
        if response.status == 206:
            start, total = _content_range(response.headers.get("Content-Range"))
            if start != offset:
                staged.discard()
                raise Transient("reprise à un autre endroit que demandé ; nouvel essai")
            mode = "ab"
        else:  # the whole file: the server ignored the range, or the file changed
            offset, mode = 0, "wb"
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
        if remote.size is not None and total is not None and total != remote.size:
            staged.discard()
            raise DownloadError(
                f"{remote.url} : le serveur annonce {formatting.number(total)} octets, "
                f"la taille publiée est {formatting.number(remote.size)} octets"
            )
        staged.state.update(
            etag=response.headers.get("ETag"), last_modified=response.headers.get("Last-Modified")
        )
        staged.save()
        expected = total if total is not None else remote.size
        received = offset
        on_bytes(received, expected)
        with staged.part.open(mode) as out:
            while chunk := response.read(CHUNK):
                if received == 0 and looks_like_html(chunk):
                    out.close()
                    staged.discard()
                    raise DownloadError(
                        f"{remote.url} : le serveur a renvoyé une page HTML au lieu du "
                        "fichier attendu"
                    )
                out.write(chunk)
                received += len(chunk)
                on_bytes(received, expected)
    if total is not None and received < total:
        raise Transient(
            f"connexion coupée après {formatting.file_size(received)} sur "
            f"{formatting.file_size(total)} ; reprise"
        )


def _content_range(value: str | None) -> tuple[int | None, int | None]:
    """``bytes 100-199/200`` → (100, 200); ``bytes */200`` → (None, 200)."""
    found = re.match(r"bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)", value or "")
    if not found:
        return None, None
    start, total = found.groups()
    return (int(start) if start else None), (int(total) if total.isdigit() else None)


def _check(staged: _Staged) -> Fetched:
    """Size, kind and checksum of a complete ``.part``, against what the publisher states."""
    remote, path = staged.remote, staged.part
    size = staged.size
    checked = []
    if remote.size is not None:
        if size != remote.size:
            staged.forget()
            raise DownloadError(
                f"{remote.url} : {formatting.number(size)} octets reçus, la taille publiée est "
                f"{formatting.number(remote.size)} octets ; fichier écarté"
            )
        checked.append("taille publiée")
    with path.open("rb") as handle:
        head = handle.read(512)
    magic = MAGIC.get(remote.kind)
    if looks_like_html(head) or (magic and not head.startswith(magic)):
        staged.forget()
        what = "une page HTML" if looks_like_html(head) else "autre chose"
        raise DownloadError(
            f"{remote.url} : le fichier reçu est {what}, pas un fichier {remote.kind} ; "
            "fichier écarté"
        )
    wanted = (remote.checksum or {}).get("type", "").lower()
    digests = {"sha256": hashlib.sha256()}
    if wanted in HASHES:
        digests.setdefault(HASHES[wanted], hashlib.new(HASHES[wanted]))
    with path.open("rb") as handle:
        while block := handle.read(CHUNK):
            for digest in digests.values():
                digest.update(block)
    if wanted in HASHES:
        got = digests[HASHES[wanted]].hexdigest()
        if got != remote.checksum["value"].lower():
            staged.forget()
            label = HASHES[wanted].upper().replace("SHA", "SHA-")
            raise DownloadError(
                f"{remote.url} : empreinte {label} différente de celle publiée (attendue "
                f"{remote.checksum['value']}, obtenue {got}) ; fichier écarté"
            )
        checked.append(f"{HASHES[wanted].upper().replace('SHA', 'SHA-')} publiée")
    return Fetched(
        remote, staged=path, bytes=size, sha256=digests["sha256"].hexdigest(), checked=checked
    )


# -- the whole download ----------------------------------------------------------------------


def download(
    sources: list[str] | None = None,
    raw: Path | None = None,
    sirene_format: str = "zip",
    console: Console | None = None,
    attempts: int = ATTEMPTS,
    backoff: float = BACKOFF,
) -> list[Fetched]:
    """Fetch ``sources`` (all by default) into the drop zone ``raw``; raises ``DownloadError``
    and leaves the drop zone as it was if any file cannot be had whole and checked."""
    raw = Path(raw or settings.raw_dir())
    sources = list(dict.fromkeys(sources or SOURCES))
    for source in sources:
        if source not in SOURCES:
            raise DownloadError(f"source inconnue « {source} » (sources : {', '.join(SOURCES)})")
    remotes = [
        remote for source in sources for remote in resolve(source, sirene_format, attempts, backoff)
    ]
    staging = raw / STAGING
    known = {
        entry.get("file"): entry
        for entry in manifest.read(raw).get("downloads", [])
        if isinstance(entry, dict)
    }
    console = console or Console(stderr=True)
    fetched = []
    with (
        _only_one(raw),
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            _SizeColumn(),
            console=console,
            transient=True,
        ) as progress,
    ):
        for remote in remotes:
            if _up_to_date(raw, remote, known.get(remote.file)):
                fetched.append(Fetched(remote, bytes=known[remote.file]["bytes"], up_to_date=True))
                continue
            task = progress.add_task(remote.file, total=remote.size)

            def on_bytes(done: int, total: int | None, task=task) -> None:
                progress.update(task, completed=done, total=total)

            fetched.append(_fetch(remote, staging, on_bytes, attempts, backoff))
        _install(raw, fetched)
    return fetched


@contextmanager
def _only_one(raw: Path) -> Iterator[None]:
    """One download at a time in a drop zone (two would write the same ``.part`` files), and
    none while a refresh lists and loads its files."""
    try:
        with manifest.hold(raw, manifest.DOWNLOAD):
            yield
    except manifest.ZoneBusy as busy:
        if busy.by_refresh:
            raise DownloadError(
                f"une actualisation lit la zone de dépôt {raw} ({busy.holder}) ; réessayez "
                "quand elle aura chargé les fichiers"
            ) from None
        raise DownloadError(
            f"un autre téléchargement est en cours dans {raw} ; réessayez quand il sera fini"
        ) from None


def _up_to_date(raw: Path, remote: Remote, entry: dict | None) -> bool:
    """The same version of the file already in the drop zone, as the manifest recorded it."""
    if not entry:
        return False
    recorded = dict(
        url=entry.get("url"),
        published=entry.get("published"),
        size=entry.get("published_size"),
        checksum=entry.get("checksum"),
    )
    path = raw / remote.file
    return (
        recorded == remote.fingerprint()
        and path.is_file()
        and path.stat().st_size == entry.get("bytes")
    )


def _install(raw: Path, fetched: list[Fetched]) -> None:
    """Every checked file into its place (one rename each), then their record in the manifest."""
    now = datetime.now().astimezone().isoformat(timespec="seconds")
    for item in fetched:
        if item.up_to_date:
            continue
        target = raw / item.remote.file
        target.parent.mkdir(parents=True, exist_ok=True)
        with item.staged.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(item.staged, target)
        item.staged.with_name(item.staged.name + ".json").unlink(missing_ok=True)
        fsutil.fsync_dir(target.parent)
        with suppress(OSError):  # the source's staging folder, once empty
            item.staged.parent.rmdir()
    changed = [item for item in fetched if not item.up_to_date]
    if not changed:
        return
    with manifest.lock(raw):
        document = manifest.read(raw)
        entries = {
            entry.get("file"): entry
            for entry in document.get("downloads", [])
            if isinstance(entry, dict)
        }
        for item in changed:
            remote = item.remote
            entries[remote.file] = dict(
                file=remote.file,
                source=remote.source,
                vintage=remote.vintage,
                title=remote.title,
                url=remote.url,
                page=remote.page,
                dataset=remote.dataset,
                resource=remote.resource,
                published=remote.published,
                published_size=remote.size,
                checksum=remote.checksum,
                downloaded=now,
                bytes=item.bytes,
                sha256=item.sha256,
                checked=item.checked,
            )
        document["downloads"] = sorted(entries.values(), key=lambda e: e["file"])
        manifest.write(raw, document)


class _SizeColumn(ProgressColumn):
    """« 412,3 Mo / 1,9 Go · 11,2 Mo/s » in French units."""

    def render(self, task) -> Text:
        done = formatting.file_size(int(task.completed))
        total = f" / {formatting.file_size(int(task.total))}" if task.total else ""
        speed = f" · {formatting.file_size(int(task.speed))}/s" if task.speed else ""
        return Text(f"{done}{total}{speed}")
