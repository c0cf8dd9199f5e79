"""What ``observatory serve`` allows visitors, decided without Voilà: how many kernels the
machine's memory holds, which static portrait stands in for a refused page, where a request
comes from, and how fast a kernel's websocket may talk.

Light on purpose: the command line imports it to print the cap before starting the server.
"""

from __future__ import annotations

import ipaddress
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl

import psutil

# Memory of one visitor's kernel once its portrait is drawn, measured on this project's demo
# warehouse (2026-12, 14 kernels of one server): 263–275 MB of its own (USS, what a new kernel
# adds), 376–388 MB resident (RSS, shared libraries included). Rounded up to leave room for a
# visitor who moves around the map.
KERNEL_MB = 300
# The Voilà server itself: 110 MB resident at start, more with many open sockets.
SERVER_MB = 400
# A visitor's kernel above this resident size is stopped: a portrait kernel went from 317 to
# 366 MB over 30 territories chosen one after the other; widgets stuffed by a client (issue 25)
# grew one from 302 to 532 MB.
KERNEL_MEMORY_LIMIT_MB = 600

LOOPBACK_HEADERS = ("X-Real-IP", "X-Forwarded-For")
# A preheated kernel shows it is one of the server's own, to the server's /voila/query/ route,
# with this token, which it inherits from the server through the environment.
QUERY_TOKEN_ENV = "OBSERVATORY_QUERY_TOKEN"
QUERY_TOKEN_HEADER = "X-Observatoire-Jeton"


def available_memory_mb() -> float:
    """Memory this process may still use: the machine's available memory, or less under a
    cgroup limit (systemd's ``MemoryMax``, a container's limit)."""
    available = psutil.virtual_memory().available
    for limit, used in _cgroup_limits():
        available = min(available, max(limit - used, 0))
    return available / 2**20


def _cgroup_limits() -> list[tuple[int, int]]:
    """(memory.max, memory.current) of this process's cgroup (v2) and its parents that set one."""
    try:
        line = next(
            line for line in Path("/proc/self/cgroup").read_text().splitlines() if line[:3] == "0::"
        )
    except (OSError, StopIteration):
        return []
    folder = Path("/sys/fs/cgroup", line[3:].lstrip("/"))
    limits = []
    for group in (folder, *folder.parents):
        if not str(group).startswith("/sys/fs/cgroup"):
            break
        try:
            limit = (group / "memory.max").read_text().strip()
            used = (group / "memory.current").read_text().strip()
        except OSError:
            continue
        if limit.isdigit() and used.isdigit():
            limits.append((int(limit), int(used)))
    return limits


def visitor_cap(preheated: int, available_mb: float | None = None) -> int:
    """Visitors' kernels the memory holds beside the server and its ``preheated`` kernels:
    (available − server − preheated × kernel) / kernel, at least 1."""
    available = available_memory_mb() if available_mb is None else available_mb
    return max(1, int((available - SERVER_MB - preheated * KERNEL_MB) // KERNEL_MB))


# ---------------------------------------------------------------------------------------------
# The static portrait offered instead of a refused page

LEVEL_NAMES = {  # URL spellings of a level (observatory.dashboards.common.LEVEL_ALIASES)
    "region": "region",
    "région": "region",
    "departement": "departement",
    "département": "departement",
    "epci": "epci",
}
LEVEL_LABELS = {"region": "de la région", "departement": "du département", "epci": "de l'EPCI"}
SAFE_CODE = re.compile(r"[0-9A-Za-z]{2,9}")


@dataclass(frozen=True)
class StaticPortrait:
    """A page of the static site (``departement/34.html``) and what to call it."""

    path: str  # below the site's address; "" for its index
    label: str  # « le portrait du département 34 », « les portraits de tous les territoires »


INDEX = StaticPortrait("", "les portraits de tous les territoires")
# The page a visitor gets above the cap, with the static page standing in for the one asked.
BUSY_PAGE = """<!doctype html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Trop de visiteurs en ce moment – Observatoire régional de l'ESS</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 42em; margin: 3em auto; padding: 0 1em;
       line-height: 1.5; color: #1a1a1a; }}
a {{ color: #0050a0; }}
.obs-static {{ font-size: 1.2em; font-weight: bold; }}
</style>
</head>
<body>
<main>
<h1>Trop de visiteurs en ce moment</h1>
<p>Les tableaux de bord interactifs de l'observatoire accueillent déjà autant de visiteurs
qu'ils peuvent en servir. Plutôt que de vous faire attendre, voici la version statique des
portraits, qui s'affiche tout de suite :</p>
<p class="obs-static"><a href="{static_url}">Voir {static_label}</a></p>
<p>Vous pouvez aussi <a href="{retry_url}">réessayer le tableau de bord interactif</a> dans
quelques minutes.</p>
</main>
</body>
</html>
"""


def static_portrait(
    notebook: str, query: str, default_region: str, site_dir: Path | None = None
) -> StaticPortrait:
    """The static page that shows what ``notebook?query`` asked for: the territory of a
    portrait (a bare 2- or 3-character code is a département, 9 digits an EPCI, as in the
    dashboards), the région of the regional view; otherwise, or when ``site_dir`` is given and
    lacks that page, the site's index."""
    params = {name.strip().lower(): value.strip() for name, value in parse_qsl(query)}
    level = code = None
    if notebook.endswith("portrait.ipynb"):
        code = params.get("territoire", "")
        level = LEVEL_NAMES.get(params.get("niveau", "").lower())
        if level is None and not params.get("niveau"):
            level = {2: "departement", 3: "departement", 9: "epci"}.get(len(code))
    elif notebook.endswith("vue-regionale.ipynb"):
        level, code = "region", params.get("region") or default_region
    if level is None or not SAFE_CODE.fullmatch(code or ""):
        return INDEX
    code = code if level == "epci" else code.upper()
    page = StaticPortrait(f"{level}/{code}.html", f"le portrait {LEVEL_LABELS[level]} {code}")
    if site_dir is not None and not (site_dir / page.path).is_file():
        return INDEX
    return page


# ---------------------------------------------------------------------------------------------
# Requests and websockets


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False


def client_address(peer: str, headers) -> str:
    """The visitor's address: the peer's, or, for a peer on this machine (the reverse proxy),
    the one the proxy names in ``X-Real-IP`` or last in ``X-Forwarded-For``. A client cannot
    choose its address this way from outside: its own headers are read only over loopback."""
    if is_loopback(peer):
        for name in LOOPBACK_HEADERS:
            value = (headers.get(name) or "").split(",")[-1].strip()
            if value:
                return value
    return peer


@dataclass
class TokenBucket:
    """``rate`` messages per second on average, ``burst`` at once."""

    rate: float
    burst: float
    tokens: float = field(init=False)
    last: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.tokens = self.burst

    def allow(self, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True
