"""The open files ``observatory download`` fetches, as their publishers list them, and the
HTTP requests to the publishers (retried after transient failures, errors in French):

- ``sirene``: INSEE's stock files StockUniteLegale and StockEtablissement (zipped CSV, whose
  SHA-256 INSEE publishes, or Parquet), found through data.gouv.fr's dataset API;
- ``essfrance``: ESS France's « Liste des entreprises de l'ESS » (data.gouv.fr);
- ``urssaf``: Urssaf's open ESS datasets, as CSV through open.urssaf.fr's export API.

API bases and dataset ids are in ``observatory.settings``; the fetch itself is
:mod:`observatory.publish.download`.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath

from observatory import settings
from observatory.errors import DownloadError

SOURCES = ("sirene", "essfrance", "urssaf")
SIRENE_FILES = ("StockUniteLegale", "StockEtablissement")
SIRENE_FORMATS = ("zip", "parquet")
ATTEMPTS = 3  # tries of one request, transient errors only
BACKOFF = 2.0  # seconds before the second try, doubled before each next one
TIMEOUT = 60  # seconds without a byte before a request is given up
USER_AGENT = "observatoire-ess (observatory download)"
# Query of Urssaf's CSV exports: the columns by name, « ; » between them (as the reader expects).
URSSAF_EXPORT = {
    "delimiter": ";",
    "list_separator": ",",
    "quote_all": "false",
    "use_labels": "false",
}


class Transient(Exception):
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


def open_url(url: str, headers: dict | None = None) -> http.client.HTTPResponse:
    """A GET through urllib, which honours http(s)_proxy and no_proxy; follows redirects."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **(headers or {})})
    return urllib.request.urlopen(request, timeout=TIMEOUT)


def _host(url: str) -> str:
    return urllib.parse.urlparse(url).netloc or url


def retrying(action: Callable[[], object], url: str, attempts: int, backoff: float):
    """``action()``, tried again after transient failures (with a doubling pause), at most
    ``attempts`` times; a definitive failure becomes a ``DownloadError`` at once."""
    for attempt in range(1, attempts + 1):
        try:
            return action()
        except urllib.error.HTTPError as exc:
            if exc.code not in (408, 429) and exc.code < 500:
                raise DownloadError(_http_message(url, exc.code, exc.reason)) from None
            last = _http_message(url, exc.code, exc.reason)
        except (Transient, urllib.error.URLError, http.client.HTTPException, OSError) as exc:
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
    if isinstance(exc, Transient):
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
        with open_url(url, {"Accept": "application/json"}) as response:
            return response.read()

    body = retrying(fetch, url, attempts, backoff)
    if looks_like_html(body):
        raise DownloadError(f"{url} : le serveur a renvoyé une page HTML au lieu des métadonnées")
    try:
        document = json.loads(body)
    except ValueError:
        raise DownloadError(f"{url} : réponse illisible (ce n'est pas du JSON)") from None
    if not isinstance(document, dict):
        raise DownloadError(f"{url} : réponse inattendue (un objet JSON était attendu)")
    return document


def looks_like_html(head: bytes) -> bool:
    start = head[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return start.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))
