"""The Voilà server of ``observatory serve``: Voilà 0.5.13 with every setting of ``voila.json``,
and the limits a public server needs, which Voilà has no setting for.

- ``/voila/query/<kernel id>``, where a preheated kernel waits for its visitor's address, is
  open only to the server's own kernels (loopback and a token they inherit), and a closed
  socket no longer cuts off another kernel's wait (Voilà bug, see ``QueryHandler``).
- At most ``max_visitors`` kernels serve visitors at once; above it a visitor gets at once a
  French page offering the static portrait of the same territory, without a kernel.
- A visitor's kernel is stopped when its page never connected within ``connect_timeout``
  seconds of being sent, when its page has been gone (no socket) for ``disconnect_timeout``
  seconds, when it is older than ``max_kernel_age``, or when it grows beyond
  ``kernel_memory_mb``.
- Kernel websockets are limited per kernel and per address, and the messages and widget
  changes each kernel receives per second; ``?template=`` and ``?theme=`` no longer bypass
  the preheated kernels.
- The portrait views of France, the régions and the départements are stored ahead of visitors
  (``observatory.dashboards.views``, a process of its own, again when the warehouse changes):
  a preheated kernel shows them without computing.

Run as ``python -m observatory.dashboards.server dashboards/ [Voilà options]``; settings in
``voila.json`` (section ``DashboardServer``) or as ``--DashboardServer.<name>=…``.
"""

from __future__ import annotations

import hmac
import html
import json
import os
import resource
import secrets
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import psutil
from jupyter_core.utils import ensure_async
from jupyter_server.services.kernels.connection.base import (
    deserialize_binary_message,
    deserialize_msg_from_ws_v1,
)
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.ioloop import PeriodicCallback
from tornado.websocket import WebSocketClosedError
from traitlets import Bool, Float, Integer, Unicode, default
from voila.app import Voila
from voila.request_info_handler import RequestInfoSocketHandler
from voila.tornado.handler import TornadoVoilaHandler
from voila.tornado.kernel_websocket_handler import VoilaKernelWebsocketHandler

from observatory import settings
from observatory.dashboards import limits

GUARD = "observatory_guard"  # the Guard, in the tornado application's settings
SITE_ROUTE = "portraits/"  # the static site, served below the base URL


@dataclass
class Visit:
    """A visitor's request, then the kernel it was given."""

    admitted: float
    kernel_id: str | None = None
    sent: float | None = None  # when the page was sent (or the request failed)
    connected: bool = False  # whether the page ever opened its kernel's websocket


class Guard:
    """The server's accounts of visitors, sockets and messages, and their limits."""

    def __init__(self, app: DashboardServer):
        self.app = app
        self.visits: list[Visit] = []
        self.sockets_by_kernel: Counter[str] = Counter()
        self.sockets_by_address: Counter[str] = Counter()
        self.left: dict[str, float] = {}  # kernel → when its last socket closed
        # Per kernel: every message, and widget changes (the messages that make it compute).
        self.buckets: dict[str, tuple[limits.TokenBucket, limits.TokenBucket]] = {}

    @property
    def manager(self):
        return self.app.kernel_manager

    def visitors(self) -> int:
        """Kernels serving visitors, and requests on their way to one."""
        return sum(
            visit.kernel_id in self.manager
            if visit.kernel_id
            else visit.sent is None  # admitted, kernel not given yet
            for visit in self.visits
        )

    def admit(self) -> Visit | None:
        """A new visit, or None when ``max_visitors`` are already served."""
        if self.visitors() >= self.app.max_visitors:
            return None
        visit = Visit(admitted=time.monotonic())
        self.visits.append(visit)
        return visit

    def connected(self, kernel_id: str) -> None:
        for visit in self.visits:
            if visit.kernel_id == kernel_id:
                visit.connected = True

    def take_socket(self, kernel_id: str, address: str) -> bool:
        if (
            self.sockets_by_kernel[kernel_id] >= self.app.sockets_per_kernel
            or self.sockets_by_address[address] >= self.app.sockets_per_address
        ):
            return False
        self.sockets_by_kernel[kernel_id] += 1
        self.sockets_by_address[address] += 1
        self.left.pop(kernel_id, None)
        return True

    def release_socket(self, kernel_id: str, address: str) -> None:
        for counter, key in (
            (self.sockets_by_kernel, kernel_id),
            (self.sockets_by_address, address),
        ):
            counter[key] -= 1
            if counter[key] <= 0:
                del counter[key]
        if kernel_id not in self.sockets_by_kernel:
            self.left[kernel_id] = time.monotonic()

    def allow_message(self, kernel_id: str, change: bool) -> bool:
        """Whether a kernel may receive one more message (``change``: a widget change)."""
        buckets = self.buckets.get(kernel_id)
        if buckets is None:
            app = self.app
            buckets = self.buckets[kernel_id] = (
                limits.TokenBucket(app.messages_per_second, app.message_burst),
                limits.TokenBucket(app.changes_per_second, app.change_burst),
            )
        return buckets[0].allow() and (not change or buckets[1].allow())

    async def sweep(self) -> None:
        """Forget what ended; stop the visitors' kernels past a limit."""
        now = time.monotonic()
        for visit in list(self.visits):
            kernel_id = visit.kernel_id
            if kernel_id is None or kernel_id not in self.manager:
                if visit.sent is not None or kernel_id is not None:
                    self.visits.remove(visit)
                continue
            reason = self.over_limit(visit, now)
            if reason:
                self.app.log.warning("Noyau %s arrêté : %s.", kernel_id, reason)
                self.visits.remove(visit)
                try:
                    await ensure_async(self.manager.shutdown_kernel(kernel_id))
                except Exception:
                    self.app.log.exception("Arrêt du noyau %s impossible", kernel_id)
        alive = set(self.manager.list_kernel_ids())
        for kernel_id in set(self.buckets) - alive:
            del self.buckets[kernel_id]
        for kernel_id in set(self.left) - alive:
            del self.left[kernel_id]
        for kernel_id in set(RequestInfoSocketHandler._cache) - alive:
            del RequestInfoSocketHandler._cache[kernel_id]

    def over_limit(self, visit: Visit, now: float) -> str | None:
        """Why a visitor's kernel must stop, or None."""
        app = self.app
        if (
            not visit.connected
            and visit.sent is not None
            and now - visit.sent > app.connect_timeout
        ):
            return f"sa page ne s'y est pas connectée dans les {app.connect_timeout:.0f} s"
        left = self.left.get(visit.kernel_id)
        if visit.connected and left is not None and now - left > app.disconnect_timeout:
            return f"sa page n'y est plus connectée depuis {app.disconnect_timeout:.0f} s"
        if now - visit.admitted > app.max_kernel_age:
            return f"ouvert depuis plus de {app.max_kernel_age:.0f} s"
        megabytes = kernel_memory_mb(self.manager, visit.kernel_id)
        if megabytes > app.kernel_memory_mb:
            return f"{megabytes:.0f} Mo de mémoire, plus que les {app.kernel_memory_mb} permis"
        return None


class ViewsMaker:
    """The process storing the portrait views of the warehouse (``observatory.dashboards.views``),
    started with the server and again whenever the warehouse file is replaced (a refresh)."""

    def __init__(self, db: Path):
        self.db = db
        self.process: subprocess.Popen | None = None
        self.seen: tuple | None = None

    def check(self) -> None:
        """Start the process if the warehouse changed since it last ran and none runs now."""
        try:
            stat = self.db.stat()
        except OSError:
            return
        seen = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        if seen == self.seen or (self.process is not None and self.process.poll() is None):
            return
        self.seen = seen
        # Its output goes to the server's log; it dies with the server.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "observatory.dashboards.views", str(self.db)],
            stdin=subprocess.DEVNULL,
        )


def kernel_memory_mb(manager, kernel_id: str) -> float:
    """Resident memory of a kernel's process (0 if unknown)."""
    pid = getattr(getattr(manager.get_kernel(kernel_id), "provisioner", None), "pid", None)
    try:
        return psutil.Process(pid).memory_info().rss / 2**20 if pid else 0.0
    except psutil.Error:
        return 0.0


# ---------------------------------------------------------------------------------------------
# Handlers


class QueryHandler(RequestInfoSocketHandler):
    """``/voila/query/<kernel id>``: a preheated kernel waits here for its visitor's request.

    Only the server's own kernels may connect (a loopback address and the token of
    ``limits.QUERY_TOKEN_ENV``); anyone else is refused before the websocket opens. The request is
    kept for its kernel until the kernel stops, so a kernel that connects again (it does every
    few seconds, ``observatory.dashboards.common.wait_for_request``) gets it even if a socket
    closed as it was sent.

    Voilà 0.5.13 bug, fixed here (docs/voila-query-bug.md): ``RequestInfoSocketHandler.on_close``
    looks for the closing socket among the waiters and, when it is not there (a second socket
    opened for the same kernel id replaced it), deletes the last waiter registered, the newest
    preheated kernel's, whose visitor's page then never comes."""

    def prepare(self):
        token = os.environ.get(limits.QUERY_TOKEN_ENV, "")
        given = self.request.headers.get(limits.QUERY_TOKEN_HEADER, "")
        if not (
            token
            and limits.is_loopback(self.request.remote_ip)
            and hmac.compare_digest(given.encode(), token.encode())
        ):
            raise web.HTTPError(403)

    def open(self, kernel_id: str) -> None:
        self.kernel_id = kernel_id
        super().open(kernel_id)

    def on_close(self) -> None:
        waiters = RequestInfoSocketHandler._waiters
        if waiters.get(getattr(self, "kernel_id", None)) is self:
            del waiters[self.kernel_id]

    def write_message(self, message, binary=False):
        """Voilà's ``send_updates`` writes the visitor's request here: it is also kept for the
        kernel's next connection, in case this one is closing."""
        RequestInfoSocketHandler._cache[self.kernel_id] = message
        try:
            return super().write_message(message, binary)
        except WebSocketClosedError:
            return None


class KernelSocketHandler(VoilaKernelWebsocketHandler):
    """``/api/kernels/<kernel id>/channels``: at most ``sockets_per_kernel`` sockets per kernel
    and ``sockets_per_address`` per visitor's address (each costs about 9 open files of the
    server); per kernel, ``messages_per_second`` messages on average (``message_burst`` at
    once), of which ``changes_per_second`` widget changes (``change_burst`` at once)."""

    _counted: tuple[str, str] | None = None
    _dropped = 0

    @property
    def guard(self) -> Guard:
        return self.settings[GUARD]

    async def get(self, kernel_id):
        address = limits.client_address(self.request.remote_ip, self.request.headers)
        if not self.guard.take_socket(kernel_id, address):
            self.log.warning(
                "WebSocket refusée au noyau %s pour %s : trop de connexions", kernel_id, address
            )
            # Not HTTPError: Jupyter's error page needs settings that Voilà does not give.
            self.set_status(429)
            self.finish()
            return
        self._counted = (kernel_id, address)
        try:
            await super().get(kernel_id)
        finally:
            if self.ws_connection is None:  # refused or failed before opening
                self._release()

    async def open(self, kernel_id):
        self.guard.connected(kernel_id)
        await super().open(kernel_id)

    def on_message(self, ws_message):
        v1 = self.selected_subprotocol == "v1.kernel.websocket.jupyter.org"
        if v1 and not well_framed(ws_message):
            self.log.warning("Noyau %s : message mal formé ignoré", self.kernel_id)
            return None
        if self.guard.allow_message(self.kernel_id, widget_change(ws_message, v1)):
            return super().on_message(ws_message)
        self._dropped += 1
        if self._dropped in (1, 100, 1000):
            self.log.warning(
                "Noyau %s : %d messages ignorés (au-delà du débit permis)",
                self.kernel_id,
                self._dropped,
            )
        return None

    def on_close(self):
        self._release()
        super().on_close()

    def _release(self) -> None:
        if self._counted is not None:
            self.guard.release_socket(*self._counted)
            self._counted = None


def well_framed(ws_message: str | bytes) -> bool:
    """Whether a message of Jupyter's v1 websocket protocol announces no more parts than it
    holds. Jupyter's reader builds the list of the announced offsets before anything else:
    8 bytes announcing 2**40 of them kept the server's only thread busy for ever."""
    if not isinstance(ws_message, bytes) or len(ws_message) < 8:
        return False
    return 8 * (int.from_bytes(ws_message[:8], "little") + 1) <= len(ws_message)


def widget_change(ws_message: str | bytes, v1: bool) -> bool:
    """Whether a browser's kernel message asks a widget to change (ipywidgets' ``update`` and
    ``custom``), what makes a dashboard compute; the others only read (a page whose kernel
    started for it asked for 40 widgets' states at once, one message each). ``v1``: Jupyter's
    v1 websocket protocol (the message ``well_framed``). A message that cannot be read counts
    as a change."""
    try:
        if v1:
            _, parts = deserialize_msg_from_ws_v1(ws_message)
            header, content = json.loads(parts[0]), json.loads(parts[3])
        else:
            if isinstance(ws_message, bytes):
                message = deserialize_binary_message(ws_message)
            else:
                message = json.loads(ws_message)
            header, content = message["header"], message["content"]
        method = (content.get("data") or {}).get("method")
        return header.get("msg_type") == "comm_msg" and method in ("update", "custom")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return True


class _KernelRecorder:
    """The server's kernel manager as one request sees it: the kernel it gives the request,
    from the preheated pool or started for it, is noted on the request's visit."""

    def __init__(self, manager, visit: Visit):
        self._manager, self._visit = manager, visit

    def __getattr__(self, name):
        return getattr(self._manager, name)

    async def get_rendered_notebook(self, *args, **kwargs):
        result = await self._manager.get_rendered_notebook(*args, **kwargs)
        self._visit.kernel_id = result[2]
        return result

    async def start_kernel(self, *args, **kwargs):
        kernel_id = await ensure_async(self._manager.start_kernel(*args, **kwargs))
        self._visit.kernel_id = kernel_id
        return kernel_id


class DashboardHandler(TornadoVoilaHandler):
    """``/voila/render/<notebook>``: a page within the cap on visitors, or the busy page."""

    visit: Visit | None = None

    @property
    def kernel_manager(self):
        manager = self.settings["kernel_manager"]
        return manager if self.visit is None else _KernelRecorder(manager, self.visit)

    async def get(self, path=None):
        # The template and theme are the server's ("allow_…_override": "NO" in voila.json),
        # but Voilà still compares these arguments with the preheated kernels' and starts a
        # new kernel when they differ.
        for name in ("template", "theme"):
            self.request.arguments.pop(name, None)
            self.request.query_arguments.pop(name, None)
        guard: Guard = self.settings[GUARD]
        self.visit = guard.admit()
        if self.visit is None:
            self.busy(path or "")
            return
        # The page stops its kernel as it unloads (reload, closed tab) with the token of the
        # ``_xsrf`` cookie, which Voilà never sets: refused (403), every kernel outlived its
        # page until culled 15 minutes later, with its memory and a visitor's place.
        _ = self.xsrf_token  # sets the cookie
        try:
            await super().get(path)
        finally:
            self.visit.sent = time.monotonic()

    def busy(self, notebook: str) -> None:
        app: DashboardServer = self.settings["voila"]
        site_dir = Path(app.site_dir) if app.site_url == app.default_site_url() else None
        page = limits.static_portrait(
            notebook, self.request.query, settings.DEFAULT_REGION, site_dir
        )
        self.log.warning(
            "Visiteur renvoyé vers le site statique (%s) : %d visiteurs servis, le plafond",
            page.path or "index",
            app.max_visitors,
        )
        self.set_status(503)
        self.set_header("Retry-After", "120")
        self.set_header("Cache-Control", "no-store")
        self.set_header("Content-Type", "text/html; charset=UTF-8")
        self.finish(
            limits.BUSY_PAGE.format(
                static_url=html.escape(app.site_url + page.path),
                static_label=html.escape(page.label),
                retry_url=html.escape(self.request.uri),
            )
        )


class SiteHandler(web.StaticFileHandler):
    """The static site written by ``observatory refresh``, where the busy page sends visitors."""

    def set_extra_headers(self, path):
        self.set_header("Cache-Control", "no-cache")


# ---------------------------------------------------------------------------------------------
# The application


class DashboardServer(Voila):
    """Voilà with the observatory's limits (see the module's docstring)."""

    max_visitors = Integer(
        0,
        config=True,
        help="Visitors' kernels at once (0: derived from the memory, see observatory serve).",
    )
    connect_timeout = Float(
        60, config=True, help="Seconds a page has, once sent, to connect to its kernel."
    )
    disconnect_timeout = Float(
        300,
        config=True,
        help="Seconds a visitor's kernel is kept once its page has no socket left (a tab "
        "closed without a word, a phone asleep): its page reconnects within them if it can.",
    )
    max_kernel_age = Float(3600, config=True, help="Seconds after which a visitor's kernel stops.")
    kernel_memory_mb = Integer(
        limits.KERNEL_MEMORY_LIMIT_MB,
        config=True,
        help="Resident memory (MB) beyond which a visitor's kernel stops.",
    )
    sockets_per_kernel = Integer(3, config=True, help="Websockets open at once to one kernel.")
    sockets_per_address = Integer(
        20, config=True, help="Kernel websockets open at once from one address."
    )
    messages_per_second = Float(
        50, config=True, help="Messages a kernel's websockets may send per second on average."
    )
    message_burst = Integer(
        200, config=True, help="Messages a kernel's websockets may send at once."
    )
    changes_per_second = Float(
        5, config=True, help="Widget changes a kernel's websockets may send per second on average."
    )
    change_burst = Integer(
        30, config=True, help="Widget changes a kernel's websockets may send at once."
    )
    max_message_bytes = Integer(
        64 * 1024, config=True, help="Largest websocket message a browser may send."
    )
    sweep_interval = Float(10, config=True, help="Seconds between two checks of the kernels.")
    precompute_views = Bool(
        True,
        config=True,
        help="Store the portrait views of France, the régions and the départements ahead of "
        "visitors (observatory.dashboards.views), again after each refresh.",
    )
    site_url = Unicode(
        config=True,
        help="Address of the static site (default: served by this server, below portraits/).",
    )
    site_dir = Unicode(config=True, help="Folder of the static site served below portraits/.")

    @default("site_dir")
    def _site_dir(self) -> str:
        return str(settings.site_dir())

    @default("site_url")
    def _site_url(self) -> str:
        return self.default_site_url()

    def default_site_url(self) -> str:
        return url_path_join(self.base_url, SITE_ROUTE)

    def initialize(self, argv=None):
        # Before any kernel starts: they inherit the token through the environment.
        os.environ.setdefault(limits.QUERY_TOKEN_ENV, secrets.token_urlsafe(32))
        super().initialize(argv)

    def init_settings(self) -> dict:
        app_settings = super().init_settings()
        if self.max_visitors <= 0:
            self.max_visitors = limits.visitor_cap(self.preheated_kernels())
        app_settings[GUARD] = Guard(self)
        app_settings["websocket_max_message_size"] = self.max_message_bytes
        PeriodicCallback(app_settings[GUARD].sweep, self.sweep_interval * 1000).start()
        if self.precompute_views:
            views = ViewsMaker(settings.db_path())
            views.check()  # now, before the pools fill
            PeriodicCallback(views.check, self.sweep_interval * 1000).start()
        self.log.info(
            "Au plus %d visiteurs à la fois ; site statique : %s", self.max_visitors, self.site_url
        )
        return app_settings

    def preheated_kernels(self) -> int:
        """Kernels the pools keep ready, as Voilà sizes them (``kernel_pools_config``)."""
        pools = getattr(self.kernel_manager, "kernel_pools_config", None)
        if not self.voila_configuration.preheat_kernel or not pools:
            return 0
        default_size = pools.get("default", {}).get("pool_size", 1)
        return sum(
            pools.get(str(path.relative_to(self.root_dir)), {}).get("pool_size", default_size)
            for path in Path(self.root_dir).rglob("*.ipynb")
            if ".ipynb_checkpoints" not in str(path)
        )

    def init_handlers(self) -> list:
        replaced = {
            RequestInfoSocketHandler: QueryHandler,
            VoilaKernelWebsocketHandler: KernelSocketHandler,
            TornadoVoilaHandler: DashboardHandler,
        }
        handlers, found = [], set()
        for route, handler, *options in super().init_handlers():
            found.add(handler)
            handlers.append((route, replaced.get(handler, handler), *options))
        missing = [cls.__name__ for cls in replaced if cls not in found]
        if missing:  # a Voilà that routes otherwise: these limits would silently not apply
            raise RuntimeError(f"Voilà ne sert plus {', '.join(missing)} : limites inapplicables")
        site = (
            url_path_join(self.server_url, SITE_ROUTE, "(.*)"),
            SiteHandler,
            {"path": self.site_dir, "default_filename": "index.html"},
        )
        return [site, *handlers]


def main() -> None:
    # Every visitor's socket costs the server about 9 open files: take all the system allows.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    DashboardServer.launch_instance()


if __name__ == "__main__":
    main()
