"""``observatory download``: the publishers' open files into the drop zone, ready for
``observatory refresh``.

- ``sirene``: INSEE's stock files StockUniteLegale and StockEtablissement (zipped CSV, whose
  SHA-256 INSEE publishes, or Parquet), found through data.gouv.fr's dataset API;
- ``essfrance``: ESS France's « Liste des entreprises de l'ESS » (data.gouv.fr);
- ``urssaf``: Urssaf's open ESS datasets, as CSV through open.urssaf.fr's export API.

Each file is written in ``<raw>/.downloads/`` (a hidden folder the refresh ignores) as a
``.part`` that a later run resumes with an HTTP Range request; its size and checksum are checked
against what the publisher states; only when every requested file is complete and checked do
they move into ``<raw>/<source>/<vintage>/`` (``os.replace``), and the manifest records where
each came from. Any failure leaves the drop zone as it was. API bases and dataset ids are in
``observatory.settings``.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path, PurePosixPath

from rich.console import Console
from rich.progress import BarColumn, Progress, ProgressColumn, TextColumn
from rich.text import Text

from observatory import formatting, fsutil, settings
from observatory.publish import manifest

SOURCES = ("sirene", "essfrance", "urssaf")
SIRENE_FILES = ("StockUniteLegale", "StockEtablissement")
SIRENE_FORMATS = ("zip", "parquet")
STAGING = manifest.ZONE_LOCK.parent.name  # .downloads, which the refresh ignores
ATTEMPTS = 3  # tries of one request, transient errors only
BACKOFF = 2.0  # seconds before the second try, doubled before each next one
TIMEOUT = 60  # seconds without a byte before a request is given up
CHUNK = 1 << 20
USER_AGENT = "observatoire-ess (observatory download)"
# Checksum types of data.gouv.fr (udata's CHECKSUM_TYPES) that can be checked here.
HASHES = {"sha1": "sha1", "sha2": "sha256", "sha256": "sha256", "md5": "md5"}
# Query of Urssaf's CSV exports: the columns by name, « ; » between them (as the reader expects).
URSSAF_EXPORT = {
    "delimiter": ";",
    "list_separator": ",",
    "quote_all": "false",
    "use_labels": "false",
}
MAGIC = {"zip": b"PK\x03\x04", "parquet": b"PAR1"}


class DownloadError(RuntimeError):
    """A download that cannot go on: one French sentence naming the file and the reason."""


class _Transient(Exception):
    """A failure worth another try: no connection, a cut body, a 5xx answer."""


@dataclass
class Remote:
    """One file to fetch, as its publisher describes it."""

    source: str
    vintage: str
    name: str  # the file's name in the drop zone
    url: str
    title: str
    dataset: str
    kind: str  # zip, parquet or csv: what the body must be
    page: str | None = None  # where a person sees it
    resource: str | None = None
    published: str | None = None  # the publisher's date of the file
    size: int | None = None  # bytes, as published
    checksum: dict | None = None  # {"type", "value"}, as published

    @property
    def file(self) -> str:
        """Path in the drop zone, as the manifest and the refresh name it."""
        return f"{self.source}/{self.vintage}/{self.name}"

    def fingerprint(self) -> dict:
        """What identifies this version of the file: a partial download of another version is
        never resumed, and a file already downloaded is not fetched again."""
        return dict(url=self.url, published=self.published, size=self.size, checksum=self.checksum)


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


# -- the publishers' metadata ---------------------------------------------------------------


def resolve(
    source: str, sirene_format: str = "zip", attempts: int = ATTEMPTS, backoff: float = BACKOFF
) -> list[Remote]:
    """The files of ``source`` as their publisher currently lists them."""

    def get(url: str) -> dict:
        return _get_json(url, attempts, backoff)

    if source == "sirene":
        return _sirene(sirene_format, get)
    if source == "essfrance":
        return _essfrance(get)
    if source == "urssaf":
        return [_urssaf(dataset, get) for dataset in settings.urssaf_ess_datasets()]
    raise DownloadError(f"source inconnue « {source} » (sources : {', '.join(SOURCES)})")


def _sirene(sirene_format: str, get: Callable[[str], dict]) -> list[Remote]:
    if sirene_format not in SIRENE_FORMATS:
        raise DownloadError(
            f"format SIRENE inconnu « {sirene_format} » (formats : {', '.join(SIRENE_FORMATS)})"
        )
    dataset = get(_datagouv_url(settings.sirene_dataset()))
    chosen = []
    for stock in SIRENE_FILES:
        # « Sirene : Fichier StockEtablissement du 01 Mars 2026 », not …Historique or …Liens.
        title = re.compile(rf"\bFichier {stock} du\b")
        found = [
            r
            for r in dataset.get("resources", [])
            if title.search(r.get("title") or "")
            and (r.get("format") or "").lower() == sirene_format
        ]
        if not found:
            raise DownloadError(
                f"{_dataset_label(dataset)} : aucune ressource « {stock} » au format "
                f"{sirene_format} (jeu de données {settings.sirene_dataset()})"
            )
        chosen.append(max(found, key=lambda r: r.get("last_modified") or ""))
    # Both files in one vintage folder: the refresh loads them together.
    vintage = max(_vintage(r.get("last_modified")) for r in chosen)
    return [_datagouv_remote("sirene", vintage, dataset, r, sirene_format) for r in chosen]


def _essfrance(get: Callable[[str], dict]) -> list[Remote]:
    dataset = get(_datagouv_url(settings.essfrance_dataset()))
    found = [
        r
        for r in dataset.get("resources", [])
        if (r.get("format") or "").lower() == "csv" and r.get("type", "main") == "main"
    ]
    if not found:
        raise DownloadError(
            f"{_dataset_label(dataset)} : aucun fichier CSV principal (jeu de données "
            f"{settings.essfrance_dataset()})"
        )
    latest = max(found, key=lambda r: r.get("last_modified") or "")
    return [
        _datagouv_remote("essfrance", _vintage(latest.get("last_modified")), dataset, latest, "csv")
    ]


def _urssaf(dataset_id: str, get: Callable[[str], dict]) -> Remote:
    base = f"{settings.urssaf_api()}/catalog/datasets/{urllib.parse.quote(dataset_id)}"
    dataset = get(base)
    metas = (dataset.get("metas") or {}).get("default") or {}
    return Remote(
        source="urssaf",
        vintage=_vintage(metas.get("modified") or metas.get("data_processed")),
        name=f"{dataset_id}.csv",
        url=f"{base}/exports/csv?{urllib.parse.urlencode(URSSAF_EXPORT)}",
        title=metas.get("title") or dataset_id,
        dataset=dataset.get("dataset_id") or dataset_id,
        kind="csv",
        page=f"https://open.urssaf.fr/explore/dataset/{dataset_id}/",
        published=metas.get("modified"),
    )


def _datagouv_url(dataset: str) -> str:
    """API v1 address of a dataset, by id or slug."""
    return f"{settings.datagouv_api()}/datasets/{urllib.parse.quote(dataset)}/"


def _dataset_label(dataset: dict) -> str:
    return f"« {dataset.get('title') or dataset.get('id') or '?'} »"


def _datagouv_remote(source: str, vintage: str, dataset: dict, resource: dict, kind: str) -> Remote:
    url = resource.get("url") or ""
    name = PurePosixPath(urllib.parse.urlparse(url).path).name
    if not url or not name:
        raise DownloadError(
            f"{_dataset_label(dataset)} : la ressource « {resource.get('title')} » n'a pas "
            "d'adresse de fichier"
        )
    checksum = resource.get("checksum") or None
    size = resource.get("filesize")
    return Remote(
        source=source,
        vintage=vintage,
        name=name,
        url=url,
        title=resource.get("title") or name,
        dataset=dataset.get("id") or "",
        kind=kind,
        page=dataset.get("page"),
        resource=resource.get("id"),
        published=resource.get("last_modified"),
        size=int(size) if isinstance(size, int | float) and size > 0 else None,
        checksum=checksum if checksum and checksum.get("value") else None,
    )


def _vintage(date: str | None) -> str:
    """Vintage folder from a publisher's date: ``2026-03-01T…`` → ``2026-03``."""
    found = re.match(r"((?:19|20)\d{2})-(\d{2})", date or "")
    if not found:
        return f"{datetime.now():%Y-%m}"
    return f"{found.group(1)}-{found.group(2)}"


# -- HTTP ------------------------------------------------------------------------------------


def _open(url: str, headers: dict | None = None) -> http.client.HTTPResponse:
    """A GET through urllib, which honours http(s)_proxy and no_proxy; follows redirects."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **(headers or {})})
    return urllib.request.urlopen(request, timeout=TIMEOUT)


def _host(url: str) -> str:
    return urllib.parse.urlparse(url).netloc or url


def _retrying(action: Callable[[], object], url: str, attempts: int, backoff: float):
    """``action()``, tried again after transient failures (with a doubling pause), at most
    ``attempts`` times; a definitive failure becomes a ``DownloadError`` at once."""
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except urllib.error.HTTPError as exc:
            if exc.code not in (408, 429) and exc.code < 500:
                raise DownloadError(_http_message(url, exc.code, exc.reason)) from None
            last = _http_message(url, exc.code, exc.reason)
        except (_Transient, urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            last = _network_message(url, exc)
        if attempt < attempts:
            time.sleep(backoff * 2 ** (attempt - 1))
    tries = f" après {attempts} tentatives" if attempts > 1 else ""
    raise DownloadError(f"{last}{tries}")


HTTP_MEANINGS = {
    403: "accès refusé",
    404: "introuvable",
    408: "délai dépassé",
    410: "retiré",
    429: "trop de requêtes",
    500: "erreur du serveur",
    502: "passerelle en erreur",
    503: "service indisponible",
    504: "délai de la passerelle dépassé",
}


def _http_message(url: str, code: int, reason) -> str:
    meaning = HTTP_MEANINGS.get(code) or (
        "erreur du serveur" if code >= 500 else f"refusé : {reason}"
    )
    return f"{url} : le serveur répond {code} ({meaning})"


def _network_message(url: str, exc: BaseException) -> str:
    if isinstance(exc, _Transient):
        return f"{url} : {exc}"
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, ConnectionRefusedError):
        why = "connexion refusée"
    elif isinstance(reason, TimeoutError):
        why = "pas de réponse"
    elif isinstance(reason, socket.gaierror):
        why = "nom de serveur inconnu"
    elif isinstance(exc, http.client.IncompleteRead | ConnectionResetError):
        why = "connexion coupée pendant la réception"
    else:
        why = str(reason) or type(reason).__name__
    return (
        f"impossible de joindre {_host(url)} ({why}) : vérifiez la connexion à Internet "
        "ou le proxy (http_proxy, https_proxy)"
    )


def _get_json(url: str, attempts: int, backoff: float) -> dict:
    def fetch() -> bytes:
        with _open(url, {"Accept": "application/json"}) as response:
            return response.read()

    body = _retrying(fetch, url, attempts, backoff)
    if _looks_like_html(body):
        raise DownloadError(f"{url} : le serveur a renvoyé une page HTML au lieu des métadonnées")
    try:
        document = json.loads(body)
    except ValueError:
        raise DownloadError(f"{url} : réponse illisible (ce n'est pas du JSON)") from None
    if not isinstance(document, dict):
        raise DownloadError(f"{url} : réponse inattendue (un objet JSON était attendu)")
    return document


def _looks_like_html(head: bytes) -> bool:
    start = head[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return start.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))


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
    _retrying(lambda: _receive(staged, on_bytes), remote.url, attempts, backoff)
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
        response = _open(remote.url, headers)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # nothing left to send: complete, or another file
            total = _content_range(exc.headers.get("Content-Range"))[1]
            if total == offset or (total is None and remote.size == offset):
                on_bytes(offset, offset)
                return
            staged.discard()
            raise _Transient(
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
                raise _Transient("reprise à un autre endroit que demandé ; nouvel essai")
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
                if received == 0 and _looks_like_html(chunk):
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
        raise _Transient(
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
    if _looks_like_html(head) or (magic and not head.startswith(magic)):
        staged.forget()
        what = "une page HTML" if _looks_like_html(head) else "autre chose"
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
