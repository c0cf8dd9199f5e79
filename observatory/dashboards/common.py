"""What every dashboard shares: warehouse access, territory search, URL parameters, French
plotly settings, accessible HTML (banner, cards, tables, sources) and downloads."""

from __future__ import annotations

import asyncio
import base64
import html
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
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from observatory import exports, formatting, indicators, portrait, search, secrecy, settings
from observatory.dashboards import launch, limits
from observatory.dashboards.launch import preheating, served_by_voila
from observatory.warehouse import Warehouse, WarehouseMissingError

# Okabe-Ito: distinguishable with every common colour-vision deficiency.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000"]
# Sequential cividis classes, light to dark; grey for masked areas.
CLASS_COLOURS = ["#fde838", "#c4b56c", "#8d8a76", "#575d6d", "#00224e"]
SECRET_COLOUR = "#d9d9d9"
MISSING_COLOUR = "#f2f2f2"  # no figure known: lighter than masked
DASHES = ["solid", "dash", "dot", "dashdot"]
SYMBOLS = ["circle", "square", "diamond", "triangle-up"]
SECRET_NOTE = (
    "« s » : valeur couverte par le secret statistique (moins de 3 établissements, ou "
    "un établissement représentant plus de 85 % du total, ou secret induit) ; elle "
    "n'apparaît ni dans les graphiques ni dans les téléchargements."
)
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

# plotly.js's French locale (plotly.js lib/locales/fr.js, MIT), passed with each figure so that
# it works offline with the plotly renderer bundled in Voilà.
PLOTLY_LOCALE_FR = {
    "dictionary": {
        "Autoscale": "Échelle automatique",
        "Box Select": "Sélection rectangulaire",
        "Double-click to zoom back out": "Double-cliquer pour dézoomer",
        "Download plot as a PNG": "Télécharger le graphique en fichier PNG",
        "Download plot": "Télécharger le graphique",
        "Lasso Select": "Sélection lasso",
        "Pan": "Translation",
        "Produced with Plotly.js": "Généré avec Plotly.js",
        "Reset": "Réinitialiser",
        "Reset axes": "Réinitialiser les axes",
        "Reset view": "Réinitialiser",
        "Reset views": "Réinitialiser",
        "Snapshot succeeded": "Conversion réussie",
        "Sorry, there was a problem downloading your snapshot!": "Désolé, un problème est survenu lors du téléchargement de votre graphique",
        "Taking snapshot - this may take a few seconds": "Conversion en cours, ceci peut prendre quelques secondes",
        "Zoom": "Zoom",
        "Zoom in": "Zoom intérieur",
        "Zoom out": "Zoom extérieur",
        "trace": "série",
        "lat:": "lat. :",
        "lon:": "lon. :",
    },
    "format": {
        "days": ["Dimanche", "Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi"],
        "shortDays": ["Dim", "Lun", "Mar", "Mer", "Jeu", "Ven", "Sam"],
        "months": [
            "Janvier",
            "Février",
            "Mars",
            "Avril",
            "Mai",
            "Juin",
            "Juillet",
            "Août",
            "Septembre",
            "Octobre",
            "Novembre",
            "Décembre",
        ],
        "shortMonths": [
            "Jan",
            "Fév",
            "Mar",
            "Avr",
            "Mai",
            "Jun",
            "Jul",
            "Aoû",
            "Sep",
            "Oct",
            "Nov",
            "Déc",
        ],
        "date": "%d/%m/%Y",
        "decimal": ",",
        "thousands": "\u202f",
        "year": "%Y",
        "month": "%b %Y",
        "dayMonth": "%-d %b",
        "dayMonthYear": "%-d %b %Y",
    },
}


def plotly_config(filename: str) -> dict:
    """plotly config: French locale, only the PNG download button, always visible."""
    return {
        "locale": "fr",
        "locales": {"fr": PLOTLY_LOCALE_FR},
        "displaylogo": False,
        "displayModeBar": True,
        "responsive": True,  # redrawn at its box's width (a phone's, or once its output shows)
        "modeBarButtons": [["toImage"]],
        "toImageButtonOptions": {"format": "png", "filename": filename, "scale": 2},
    }


def french_layout(fig: go.Figure, height: int = 380) -> go.Figure:
    """French separators, readable fonts and margins."""
    fig.update_layout(
        separators=formatting.PLOTLY_SEPARATORS,
        height=height,
        template="none",
        font=dict(size=14, family="Arial, sans-serif"),
        margin=dict(l=10, r=30, t=50, b=40),
        plot_bgcolor="white",
        hoverlabel=dict(font_size=14),
    )
    return fig


BAR_THICKNESS = 22  # pixels of a labelled bar; its row adds BAR_SPACE and LABEL_LINE per line
BAR_SPACE = 10
LABEL_LINE = 16
LABEL_WIDTH = 46  # characters per line of a bar's label (a phone shows about 48)


def label_bars(fig: go.Figure, top: float, low: float = 0.0) -> go.Figure:
    """Horizontal bars a phone shows whole: each bar's label above it, the chart's width left
    to the bars, each value at its bar's end (inside a long bar), no axis. ``top``: the largest
    value drawn, ``low`` the smallest (below 0). Sets the chart's height (call before
    ``exports.stamp``)."""
    labels = list(dict.fromkeys(y for trace in fig.data for y in trace.y))
    wrapped = {label: exports.wrap(label, LABEL_WIDTH) for label in labels}
    lines = max([text.count("<br>") + 1 for text in wrapped.values()], default=1)
    slot = BAR_THICKNESS + BAR_SPACE + LABEL_LINE * lines
    fig.update_traces(
        textposition="auto",
        insidetextanchor="end",
        insidetextfont=dict(color="white"),
        outsidetextfont=dict(color="#1a1a1a"),
        constraintext="none",
        textangle=0,
        cliponaxis=False,
    )
    for label in labels:
        fig.add_annotation(
            x=0,
            xref="paper",
            y=label,
            yref="y",
            text=wrapped[label],
            showarrow=False,
            xanchor="left",
            yanchor="bottom",
            align="left",
            yshift=BAR_THICKNESS / 2 + 1,
            font=dict(size=13),
        )
    french_layout(fig, height=50 + 20 + slot * max(1, len(labels)))  # margins and rows
    fig.update_layout(bargap=1 - BAR_THICKNESS / slot, margin=dict(l=10, r=10, t=50, b=20))
    fig.update_yaxes(showticklabels=False, title=None, autorange="reversed", automargin=False)
    fig.update_xaxes(visible=False, range=[low * 1.2, float(top or 1) * 1.2])
    return fig


def compact(geojson):
    """GeoJSON whose coordinates are numpy arrays, one per ring or line: plotly copies a
    figure's data several times, and a map's nested lists of points made most of the time of a
    map (0,3 s of the 0,5 s of a map of 160 EPCI); the JSON sent is the same."""
    if isinstance(geojson, dict):
        return {key: compact(value) for key, value in geojson.items()}
    if isinstance(geojson, (list, tuple)):
        first = geojson[0] if geojson else None
        if isinstance(first, (list, tuple)) and first and isinstance(first[0], (int, float)):
            return np.asarray(geojson, dtype=float)
        return [compact(value) for value in geojson]
    return geojson


def figure_output(fig: go.Figure, filename: str) -> dict:
    """A figure as an output for the plotly MIME renderer, with the French config."""
    bundle = json.loads(fig.to_json())
    bundle["config"] = plotly_config(filename)
    return {
        "output_type": "display_data",
        "metadata": {},
        "data": {"application/vnd.plotly.v1+json": bundle, "text/plain": ""},
    }


CHARTS = ".widget-output .js-plotly-plot"  # a page's charts, without the hidden plotly loader


@dataclass
class Shown:
    """What a dashboard's ``build`` returns: the HTML above its widgets (style, demonstration
    banner, title, messages) and its page, if any (widgets in ``widget``, filled by
    ``update()``)."""

    head: str
    page: object = None


def html_output(text: str) -> dict:
    """HTML as an output."""
    return {
        "output_type": "display_data",
        "metadata": {},
        "data": {"text/html": text, "text/plain": ""},
    }


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
        set_outputs(widget, [html_output(FAILED_HTML)])
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
    return html_output(f"<script>history.replaceState(history.state, '', {target});</script>")


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
            return Shown(STYLE + message_html([UNAVAILABLE]))

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


# ---------------------------------------------------------------------------------------------
# Indicators


def compute(
    level: str,
    code: str,
    year: int | None,
    themes: tuple[str, ...],
    reference: tuple[str, str] | None = None,
) -> pd.DataFrame:
    """Indicators of a territory (secrecy applied by :mod:`observatory.indicators`), cached.

    ``attrs`` keep the territory, year and secrecy flag; each indicator's metadata is in
    ``indicators.REGISTRY`` (pandas deep-copies ``attrs`` in every operation, which made the
    pages several times slower)."""
    return _compute(level, code, year, tuple(themes), reference).copy()


@lru_cache(maxsize=2048)
def _compute(level, code, year, themes, reference) -> pd.DataFrame:
    wh = warehouse()
    ref = indicators.resolve(wh, reference[1], reference[0]) if reference else None
    frame = indicators.compute(wh, level, code, year, themes=list(themes), reference=ref)
    frame.attrs = {k: v for k, v in frame.attrs.items() if k != "indicators"}
    return frame


def row(frame: pd.DataFrame, indicator: str, category: str | None = None) -> pd.Series | None:
    """The row of one indicator (and category), or ``None``. Matches positions on the key
    columns only: filtering the whole frame for each card and bar took most of a redraw."""
    hits = np.flatnonzero(frame["indicator"].to_numpy() == indicator)
    if category is not None:
        hits = hits[frame["category"].to_numpy()[hits] == category]
    return frame.iloc[hits[0]] if len(hits) else None


# ---------------------------------------------------------------------------------------------
# HTML


STYLE = (
    """<style>
.obs-page{max-width:1200px;font-family:Arial,sans-serif;color:#1a1a1a}
.obs-demo-banner{background:#fff3cd;border:2px solid #8a6d00;color:#3d3000;padding:.6em 1em;
 font-weight:bold;margin-bottom:1em}
"""
    + launch.MESSAGE_CSS
    + """
.obs-key-figures{display:flex;gap:1em;flex-wrap:wrap;margin:1em 0}
.obs-card{border:1px solid #575d6d;border-radius:6px;padding:.8em 1.2em;min-width:14em;flex:1}
.obs-card-label{font-size:.95em}.obs-card-value{font-size:2em;font-weight:bold}
.obs-card-note{font-size:.85em;color:#333}
.obs-block{margin:1.5em 0 .5em 0;border-top:1px solid #ccc;padding-top:.5em}
.obs-block h2{font-size:1.3em;margin:.3em 0}
.obs-alt{font-style:italic;color:#333}
.obs-empty{color:#333;margin:.5em 0 1.5em}
.obs-table{border-collapse:collapse;margin-top:.5em}.obs-table caption{text-align:left;font-weight:bold}
.obs-table th,.obs-table td{border:1px solid #ccc;padding:.3em .6em}.obs-table td{text-align:right}
.obs-table th[scope=row]{text-align:left;font-weight:normal}
.obs-source{font-size:.85em;color:#333;margin-top:.5em}
.obs-downloads a{margin-right:1em}
.obs-details{margin:.3em 0 1.5em}
.obs-details summary{cursor:pointer;color:#00325a;text-decoration:underline;padding:.3em 0}
.obs-toc ul{list-style:none;padding:0;margin:.5em 0 1em;display:flex;flex-wrap:wrap;gap:.3em 1.2em}
.obs-messages ul{padding-left:1.2em}
.jp-Cell-outputArea>.jp-OutputArea-child:has(>.jp-RenderedPlotly){display:none}
.widget-hbox{flex-wrap:wrap}
.widget-inline-hbox,.widget-select-multiple,.widget-toggle-buttons{max-width:calc(100% - 2 * var(--jp-widgets-margin, 2px))}
.widget-inline-hbox select,.widget-inline-hbox input{min-width:0}
.obs-suggestions{display:flex;flex-wrap:wrap;gap:.2em .4em;max-width:100%}
@media (max-width:600px){
 .obs-card{min-width:0;flex-basis:100%}
 .obs-table,.obs-table caption,.obs-table tbody,.obs-table tr,.obs-table th,.obs-table td{display:block}
 .obs-table thead{position:absolute;width:1px;height:1px;overflow:hidden;clip-path:inset(50%)}
 .obs-table tr{border-top:1px solid #ccc;padding:.3em 0}
 .obs-table th,.obs-table td{border:none;text-align:left;padding:.1em 0;overflow-wrap:anywhere}
 .obs-table th[scope=row]{font-weight:bold}
 .obs-table td::before{content:attr(data-label) " : "}
 .widget-inline-hbox .widget-label{width:auto;min-width:0}
}
</style>"""
)


def esc(value) -> str:
    return html.escape(str(value))


def banner_html() -> str:
    """The banner shown on every view built from demo data."""
    return (
        f'<div class="obs-demo-banner" role="note">{settings.DEMO_LABEL} : chiffres '
        "synthétiques calibrés sur des données publiées (INSEE, Clap 2014), à ne pas citer.</div>"
    )


def message_html(messages: list[str]) -> str:
    """Friendly messages (unknown parameters and the like)."""
    return "".join(launch.message_html(m) for m in messages)


def cards_html(cards: list[tuple[str, str, str]], label: str) -> str:
    """Key figure cards (label, value, note): each figure is text, not colour."""
    items = "".join(
        f'<div class="obs-card" role="group" aria-label="{esc(title)}">'
        f'<div class="obs-card-label">{esc(title)}</div>'
        f'<div class="obs-card-value">{esc(value)}</div>'
        f'<div class="obs-card-note">{esc(note)}</div></div>'
        for title, value, note in cards
    )
    return f'<section class="obs-key-figures" aria-label="{esc(label)}">{items}</section>'


class SourceNote(str):
    """A block's source paragraph (HTML) that remembers its parts, for the block's files."""

    source: str = ""
    year: int | None = None
    definitions: tuple[str, ...] = ()
    secret: bool = False


def source_html(source: str, year: int, definitions: list[str], secret: bool = False) -> SourceNote:
    """Source, vintage and definitions under a chart (and the secrecy note when needed); the
    Clap or Flores series of the year unless the figures are SIRENE estimates."""
    insee_series = not indicators.is_estimate(source) and source != indicators.NO_SOURCE
    series = f" (série {'Clap' if year <= 2015 else 'Flores'})" if insee_series else ""
    text = f"Source : {esc(source)} ; millésime {year}{series}. " + " ".join(
        esc(d) for d in definitions
    )
    if secret:
        text += " " + esc(SECRET_NOTE)
    note = SourceNote(f'<p class="obs-source">{text}</p>')
    note.source, note.year = f"{source} ; millésime {year}{series}", year
    note.definitions, note.secret = tuple(d for d in definitions if d), secret
    return note


def table_html(
    table: pd.DataFrame, caption: str, sort_column: str | None = None, ascending: bool = True
) -> str:
    """A data table of display strings; the first column heads each row."""
    head = "".join(
        f"<th scope='col'{_aria_sort(c, sort_column, ascending)}>{esc(c)}</th>"
        for c in table.columns
    )
    labels = [esc(c) for c in table.columns[1:]]
    body = "".join(
        "<tr>"
        + f"<th scope='row'>{esc(r[0])}</th>"
        + "".join(f"<td data-label='{lb}'>{esc(v)}</td>" for lb, v in zip(labels, r[1:]))
        + "</tr>"
        for r in table.itertuples(index=False)
    )
    return (
        f'<table class="obs-table"><caption>{esc(caption)}</caption><thead><tr>{head}</tr>'
        f"</thead><tbody>{body}</tbody></table>"
    )


def _aria_sort(column, sort_column, ascending) -> str:
    if column != sort_column:
        return ""
    return f" aria-sort='{'ascending' if ascending else 'descending'}'"


def downloads_html(table: exports.Table, filename: str, chart: bool = True) -> str:
    """Links downloading the table as CSV and XLSX with its context (:mod:`observatory.exports`;
    data: URIs, nothing stored on the server), and where to get the chart as PNG."""
    csv_uri = "data:text/csv;charset=utf-8;base64," + base64.b64encode(
        exports.to_csv(table)
    ).decode("ascii")
    xlsx_uri = f"data:{exports.XLSX_TYPE};base64," + base64.b64encode(
        exports.to_xlsx(table)
    ).decode("ascii")
    png = " ; le graphique : icône d'appareil photo au-dessus de lui (PNG)" if chart else ""
    return (
        f'<p class="obs-downloads">Télécharger le tableau avec sa source : '
        f'<a class="obs-csv" download="{esc(filename)}.csv" href="{csv_uri}">CSV</a> '
        f'<a class="obs-xlsx" download="{esc(filename)}.xlsx" href="{xlsx_uri}">XLSX</a>'
        f"{png}.</p>"
    )


def value_or_mark(row: pd.Series):
    """What a download carries: the value, or « s » for a masked one."""
    return secrecy.MARK if row["secret"] else (None if pd.isna(row["value"]) else row["value"])
