"""What every dashboard shares: the kernel's warehouse and its indicators, territory search,
URL parameters, pages filled in the background, messages. Charts and HTML are the views'
(:mod:`observatory.views`)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache, wraps
from typing import ClassVar
from urllib.parse import parse_qsl

import duckdb
import pandas as pd

from observatory import indicators, search
from observatory.dashboards import launch, limits
from observatory.dashboards.launch import preheating, served_by_voila
from observatory.publish import portrait
from observatory.views import frames, html
from observatory.warehouse import Warehouse, WarehouseMissingError

LEVEL_ALIASES = {
    "france": "france",
    "fr": "france",
    "region": "region",
    "région": "region",
    "departement": "departement",
    "département": "departement",
    "epci": "epci",
    "commune": "commune",
}
MAX_PARAM = 60
# Seconds a preheated kernel waits for its visitor on one connection before asking again.
REQUEST_RECHECK = 15
UNAVAILABLE = launch.UNAVAILABLE

CHARTS = ".widget-output .js-plotly-plot"  # a page's charts, without the hidden plotly loader


@dataclass
class Shown:
    """What a dashboard's ``build`` returns: the HTML above its widgets (style, demonstration
    banner, title, messages) and its page, if any (widgets in ``widget``, filled by
    ``update()``)."""

    head: str
    page: object = None


def set_outputs(widget, outputs: list[dict]) -> None:
    """Replace what an ``Output`` widget shows in one state update: it reaches the page however
    late the browser connects, and keeps Voilà's executor out of the way."""
    widget.outputs = tuple(outputs)


PENDING_HTML = "<p class='obs-alt' role='status'>Calcul en cours…</p>"
FAILED_HTML = (
    "<div class='obs-message' role='alert'>Ce graphique n'a pas pu être calculé ; "
    "rechargez la page ou choisissez un autre territoire.</div>"
)


def show(widget, make_outputs) -> list[dict] | None:
    """Fill ``widget`` with ``make_outputs()`` and return them; a failure shows a French
    message on the page and its traceback in the server's log only, and returns None."""
    try:
        outputs = make_outputs()
    except Exception:
        traceback.print_exc(file=sys.__stderr__)
        set_outputs(widget, [html.html_output(FAILED_HTML)])
        return None
    set_outputs(widget, outputs)
    return outputs


STEP_PAUSE = 0.02  # seconds left to the kernel between two background steps
FIRST_PAINT = 1.0  # seconds left to the browser to draw what the page's state holds
STATE_WAIT = 15.0  # seconds after which the steps start even if no browser asked for the state


def in_background(steps, wanted=lambda: True) -> None:
    """Run ``steps`` (functions) one at a time once the current cell or widget callback has
    returned, so that the page gets what is already there while the rest is computed. Between
    two steps the kernel is left free for a moment to answer the browser. Stops when
    ``wanted()`` turns false (the visitor asked for something else). Without a running event
    loop, runs them at once.

    On a page served by Voilà whose browser has not yet received the widgets' state, the steps
    wait until it has and has had a moment to draw it: the state then carries the key figures
    and the first chart alone, and the browser draws them before the rest instead of along
    with it (about 1,5 s sooner on this machine)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        for step in steps:
            step()
        return
    pending = iter(steps)

    def run_next() -> None:
        step = next(pending, None) if wanted() else None
        if step is not None:
            try:
                step()
            finally:
                loop.call_later(STEP_PAUSE, run_next)

    browser = _browser() if served_by_voila() else None
    if browser is not None and not browser.has_state:
        browser.waiting.append(lambda: loop.call_later(FIRST_PAINT, run_next))
        loop.call_later(STATE_WAIT, browser.start_waiting)
    else:
        loop.call_soon(run_next)


class _Browser:
    """Whether the visitor's browser has received the widgets' state, and what waits for it.

    ipywidgets answers the browser's ``request_states`` on its control comm; the handler is
    wrapped so that the dashboards know when the page's state has left the kernel. Should a
    later ipywidgets answer elsewhere, nothing waits (the page is drawn as before)."""

    def __init__(self):
        self.waiting: list = []
        from ipywidgets import Widget

        answer = getattr(Widget, "_handle_control_comm_msg", None)
        self.has_state = answer is None
        if answer is None:
            return

        def handle(msg):
            answer(msg)
            if msg["content"]["data"].get("method") == "request_states":
                self.has_state = True
                self.start_waiting()

        Widget._handle_control_comm_msg = staticmethod(handle)

    def start_waiting(self) -> None:
        """Start what waits (once the state is sent, or when waiting has lasted too long)."""
        waiting, self.waiting = self.waiting, []
        for start in waiting:
            start()


@lru_cache(maxsize=1)
def _browser() -> _Browser:
    return _Browser()


def address_output(query: str) -> dict:
    """An output putting ``query`` (``?territoire=34…``) in the page address without reloading,
    so that a copied link opens what the visitor sees."""
    target = json.dumps(query).replace("<", "\\u003c")
    return html.html_output(f"<script>history.replaceState(history.state, '', {target});</script>")


# ---------------------------------------------------------------------------------------------
# Warehouse and territories


def page(build):
    """A dashboard's ``build``: when the warehouse is missing, damaged or unreadable, the
    visitor reads one French message instead of Voilà's English error."""

    @wraps(build)
    def guarded(*args, **kwargs) -> Shown:
        try:
            return build(*args, **kwargs)
        except (WarehouseMissingError, duckdb.Error):
            return Shown(html.STYLE + message_html([UNAVAILABLE]))

    return guarded


@lru_cache(maxsize=1)
def warehouse() -> Warehouse:
    """The kernel's read-only warehouse connection (opened once per visitor's kernel), locked
    down: no file but the warehouse, no network, configuration locked.

    A server holds one kernel per visitor, each asking small questions: DuckDB runs on one
    thread and arrow on the system allocator, which saves about 25 MB per kernel."""
    import pyarrow

    pyarrow.set_memory_pool(pyarrow.system_memory_pool())
    return Warehouse(threads=1)


class Labels(Mapping):
    """Selector label → (level, code), read from the label itself and checked against the
    warehouse's territories (no table of labels kept in the kernel's memory)."""

    PATTERN = re.compile(r"^.+ \((?P<level>[^()]+) (?P<code>[^() ]+)\)$")
    LEVELS: ClassVar[dict[str, str]] = {
        label: level for level, label in indicators.LEVEL_LABELS.items()
    }

    def __init__(self, wh: Warehouse, frame: pd.DataFrame):
        self.wh, self.frame = wh, frame

    def __getitem__(self, label: str) -> tuple[str, str]:
        match = self.PATTERN.match(label) if isinstance(label, str) else None
        level, code = (
            (self.LEVELS.get(match["level"]), match["code"]) if match else ("france", "FR")
        )
        try:
            territory = indicators.resolve(self.wh, code, level) if level else None
        except indicators.TerritoryError:
            territory = None
        if territory is None or territory.label != label:
            raise KeyError(label)
        return territory.level, territory.code

    def __iter__(self):
        return iter(self.frame["label"])

    def __len__(self) -> int:
        return len(self.frame)


class TerritoryIndex:
    """Every territory of the warehouse with its selector label, for search-as-you-type."""

    def __init__(self, wh: Warehouse):
        frame = wh.sql("SELECT level, code, name, population FROM territories")
        frame["label"] = frame["name"].where(
            frame["level"] == "france",
            frame["name"]
            + " ("
            + frame["level"].map(indicators.LEVEL_LABELS)
            + " "
            + frame["code"]
            + ")",
        )
        self.wh, self.frame = wh, search.index(frame)
        self.by_label = Labels(wh, frame)

    def label(self, level: str, code: str) -> str:
        return indicators.resolve(self.wh, code, level).label

    def search(
        self, text: str, limit: int = 12, levels: tuple[str, ...] | None = None
    ) -> list[str]:
        """Labels matching ``text`` (code or name, with or without its article, accents or
        capitals; :func:`observatory.search.find`), best first."""
        text = text[:MAX_PARAM]
        frame = self.frame if levels is None else self.frame[self.frame["level"].isin(levels)]
        if not search.search_key(text):
            hits = frame[frame["order"] <= 2]
            return hits.sort_values(["order", "code"])["label"].head(limit).tolist()
        return search.find(frame, text)["label"].head(limit).tolist()


@lru_cache(maxsize=1)
def territory_index() -> TerritoryIndex:
    return TerritoryIndex(warehouse())


SUGGESTIONS = 8  # suggestions shown under a search box at most


class TerritorySearch:
    """A search box for territories whose suggestions are the server's own, as buttons under
    the box: « Saint-Etienne » or « rochelle » offer « Saint-Étienne » and « La Rochelle »
    (a browser filters an input's list of options again by what was typed, accents included,
    and would hide them). Choosing a suggestion, or typing a label whole, calls
    ``on_choose(label)``."""

    def __init__(self, index: TerritoryIndex, on_choose, value: str = "", **text_options):
        import ipywidgets as w

        self.index, self.on_choose = index, on_choose
        self.text = w.Text(value=value, continuous_update=True, **text_options)
        self.text.add_class("obs-territory")
        self.buttons = [
            w.Button(layout=w.Layout(width="auto", max_width="100%", display="none"))
            for _ in range(SUGGESTIONS)
        ]
        for button in self.buttons:
            button.add_class("obs-suggestion")
            button.on_click(lambda b: self.choose(b.tooltip))
        self.suggestions = w.Box(self.buttons)
        self.suggestions.add_class("obs-suggestions")
        self.status = w.HTML()
        self.widget = w.VBox([self.text, self.suggestions, self.status])
        self.text.observe(self._typed, "value")

    @property
    def value(self) -> str:
        return self.text.value

    def set_value(self, label: str) -> None:
        """Show ``label`` in the box without searching or choosing."""
        self.text.unobserve(self._typed, "value")
        self.text.value = label
        self.text.observe(self._typed, "value")
        self.show([])

    def choose(self, label: str) -> None:
        self.set_value(label)
        self.status.value = ""
        self.on_choose(label)

    def _typed(self, change) -> None:
        text = change["new"] or ""
        if text in self.index.by_label:
            self.choose(text)
            return
        matches = self.index.search(text) if text.strip() else []
        self.show(matches)
        self.status.value = (
            message_html([f"Aucun territoire ne correspond à « {text[:MAX_PARAM]} »."])
            if text.strip() and not matches
            else ""
        )

    def show(self, labels: list[str]) -> None:
        """Suggest ``labels`` (the first ``SUGGESTIONS``)."""
        for i, button in enumerate(self.buttons):
            label = labels[i] if i < len(labels) else ""
            button.description = button.tooltip = label
            button.layout.display = "" if label else "none"


# ---------------------------------------------------------------------------------------------
# URL parameters


@dataclass
class Params:
    """Validated parameters of a page and the friendly French messages about the others."""

    values: dict[str, str] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)


def query_parameters(allowed: tuple[str, ...], query: str | None = None) -> Params:
    """Parameters of the page URL (``QUERY_STRING``; call after ``wait_for_request``): known names
    kept, values trimmed and bounded; unknown names reported (Voilà's own, ``theme``,
    ``template`` and ``voila-…``, are left to Voilà)."""
    query = os.environ.get("QUERY_STRING", "") if query is None else query
    params = Params()
    for name, value in parse_qsl(query, keep_blank_values=True):
        name = name.strip().lower()
        if name in allowed:
            params.values[name] = value.strip()[:MAX_PARAM]
        elif name and not name.startswith("voila") and name not in ("theme", "template"):
            params.messages.append(
                f"Le paramètre « {name[:MAX_PARAM]} » n'est pas reconnu ; "
                f"il est ignoré (paramètres possibles : {', '.join(allowed)})."
            )
    return params


def resolve_territory(wh: Warehouse, code: str | None, level: str | None) -> indicators.Territory:
    """A territory from URL values (``niveau`` may be spelt in French), validated against the
    territory table; raises :class:`indicators.TerritoryError` with a French message."""
    if level:
        level = LEVEL_ALIASES.get(level.strip().lower())
        if level is None:
            raise indicators.TerritoryError(
                "niveau inconnu : région, département, EPCI, commune ou France"
            )
    return indicators.resolve(wh, code, level)


def resolve_reference(wh: Warehouse, text: str | None) -> indicators.Territory | None:
    """The comparison territory: ``parent``, ``FR``, ``region:76`` or a bare code."""
    if text and text.strip().lower() in ("france", "fr"):
        return indicators.resolve(wh, "FR", "france")
    return portrait.parse_reference(wh, text)


def resolve_year(wh: Warehouse, text) -> int | None:
    """A year from the URL (``None`` for the latest); raises :class:`indicators.YearError`."""
    if text in (None, ""):
        return None
    try:
        year = int(str(text))
    except ValueError:
        raise indicators.YearError(f"année « {text} » non valable") from None
    return indicators.resolve_year(wh, year)


def wait_for_request() -> None:
    """With a preheated kernel, wait until a visitor's request (and its URL) has arrived.

    The kernel asks its own server, on ``/voila/query/<kernel id>``, with the token that shows
    it is one of the server's kernels (``observatory.dashboards.server.QueryHandler``). It
    waits ``REQUEST_RECHECK`` seconds on one connection, then asks again on a new one: the
    server keeps the request for its kernel, so a request lost with a socket (a connection
    refused or cut, the server's waiter lost to Voilà's bug) arrives on the next connection
    instead of leaving the visitor's page unfinished for ever, as with Voilà's own helper."""
    if not preheating():
        return
    from websockets.exceptions import WebSocketException
    from websockets.sync.client import connect

    headers = {limits.QUERY_TOKEN_HEADER: os.environ.get(limits.QUERY_TOKEN_ENV, "")}
    url, failures = _query_url(), 0
    while True:
        try:
            # proxy=None: the server is this machine, whatever http_proxy says.
            with connect(url, additional_headers=headers, proxy=None, open_timeout=10) as socket:
                request = socket.recv(timeout=REQUEST_RECHECK)
        except TimeoutError:
            continue
        except (OSError, WebSocketException) as exc:
            failures += 1
            if failures in (1, 10, 100):
                print(f"Requête du visiteur : {url} injoignable ({exc})", file=sys.__stderr__)
            time.sleep(1)
            continue
        os.environ.update(json.loads(request))
        return


def _query_url() -> str:
    """Where Voilà's server gives a preheated kernel its request (as ``voila.utils`` builds it)."""
    protocol = os.environ.get("VOILA_WS_PROTOCOL", "ws")
    host = os.environ.get("VOILA_APP_IP", "127.0.0.1")
    port = os.environ.get("VOILA_APP_PORT", "8866")
    base = os.environ.get("VOILA_WS_BASE_URL", os.environ.get("VOILA_SERVER_URL", "/"))
    return f"{protocol}://{host}:{port}{base}voila/query/{os.environ.get('VOILA_KERNEL_ID', '')}"


def message_html(messages: list[str]) -> str:
    """Friendly messages (unknown parameters and the like)."""
    return "".join(launch.message_html(m) for m in messages)


# ---------------------------------------------------------------------------------------------
# Indicators


def compute(
    level: str,
    code: str,
    year: int | None,
    themes: tuple[str, ...],
    reference: tuple[str, str] | None = None,
) -> pd.DataFrame:
    """Indicators of a territory of the kernel's warehouse (:func:`views.frames.compute`)."""
    return frames.compute(warehouse(), level, code, year, themes, reference)
