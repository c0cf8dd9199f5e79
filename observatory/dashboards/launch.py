"""What a dashboard's notebook calls: ``show("portrait", territoire=...)``.

This module imports nothing heavy. A kernel started for a visitor's request (no preheated kernel
left) would otherwise import pandas and plotly and compute the first figures (about 3,5 s on this
machine) before Voilà ends the page's HTML, whose last script loads the browser's side. Here the
cell returns at once with an empty page; the dashboard is built and filled just after, while the
browser loads.
"""

from __future__ import annotations

import asyncio
import html
import importlib
import os
import sys
import traceback
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from observatory.dashboards.common import Shown

FAILED_PAGE = "Cette page n'a pas pu être calculée ; rechargez-la ou revenez dans quelques minutes."
# What a browser reads when one of its messages to the kernel fails (a widget value out of
# range, a widget that does not exist); the traceback goes to the server's log only.
REFUSED = "Cette action n'a pas pu être prise en compte ; la page reste telle qu'elle était."
LOADING_HTML = "<p class='obs-alt' role='status'>Chargement de la page…</p>"
UNAVAILABLE = (
    "Les chiffres de l'observatoire sont momentanément indisponibles : l'entrepôt de "
    "données est absent ou endommagé. Réessayez dans quelques minutes ; si le problème "
    "persiste, prévenez l'équipe de l'observatoire."
)
MESSAGE_CSS = (
    ".obs-message{background:#e8f1fb;border:2px solid #0072B2;color:#00325a;"
    "padding:.6em 1em;margin:.5em 0}"
)
# An empty plotly figure: displayed hidden among the cell's outputs, it makes the browser
# evaluate plotly.js early (see ``display_shown``).
LOADER = {
    "data": [],
    "layout": {"width": 2, "height": 2, "margin": dict(l=0, r=0, t=0, b=0)},
    "config": {"staticPlot": True, "displayModeBar": False},
}


def show(dashboard: str, **parameters) -> None:
    """Display ``observatory.dashboards.<dashboard>``, built by its ``build(**parameters)``."""
    if served_by_voila() or preheating():
        keep_errors_in_the_log()
    if served_by_voila() and not preheating():
        _show_later(dashboard, parameters)
        return
    display_shown(_build(dashboard, parameters))


def _build(dashboard: str, parameters: dict):
    return importlib.import_module(f"observatory.dashboards.{dashboard}").build(**parameters)


def _show_later(dashboard: str, parameters: dict) -> None:
    """An empty page now, among the cell's outputs; the dashboard in it after the cell."""
    import ipywidgets
    from IPython.display import HTML, display

    if not warehouse_readable():
        display(HTML(f"<style>{MESSAGE_CSS}</style>{message_html(UNAVAILABLE)}"))
        return
    display_plotly_loader()
    page = ipywidgets.VBox([ipywidgets.HTML(LOADING_HTML)])
    display(page)
    asyncio.get_running_loop().call_soon(_fill_later, page, dashboard, parameters)


def _fill_later(page, dashboard: str, parameters: dict) -> None:
    import ipywidgets

    try:
        shown = _build(dashboard, parameters)
    except Exception:
        report_failure(page, ())
        return
    head = ipywidgets.HTML(shown.head)
    head.add_class("jp-RenderedHTMLCommon")  # headings styled as in the cells' own outputs
    if shown.page is None:
        page.children = (head,)
        return
    page.children = (head, shown.page.widget)
    fill(shown.page)


def warehouse_readable() -> bool:
    """Whether the warehouse opens (0,2 s, DuckDB's import included). Checked before the page is
    sent, so that a missing or damaged warehouse gets its French message in the page itself:
    filled later into the page's widgets, the message depended on the browser fetching their
    state, which under load once failed (« Error displaying widget: model not found »)."""
    from observatory.warehouse import connection

    try:
        connection.Warehouse(threads=1).close()
    except (connection.WarehouseMissingError, connection.duckdb.Error):
        traceback.print_exc(file=sys.__stderr__)
        return False
    return True


def display_shown(shown: Shown) -> None:
    """Display a dashboard in the cell's outputs, and fill its widgets.

    First comes an empty plotly output (``launch.LOADER``), hidden (``STYLE``), among the cell's own
    outputs: the browser draws those as soon as the page's scripts have loaded, while it
    connects to the kernel, so plotly.js (about 0,5 s to evaluate on this machine) is ready
    when the first chart comes instead of being evaluated then (first chart of a portrait:
    median 3,2 s instead of 4,5 s over 5 preheated portraits).

    On a page served by Voilà, the widgets are filled just after the cell has returned: Voilà
    then ends the page's HTML, whose last script loads the browser's side, and the kernel
    computes the key figures and the first chart while the browser loads it."""
    from IPython.display import HTML, display

    display(HTML(shown.head))
    if shown.page is None:
        return
    display_plotly_loader()
    display(shown.page.widget)
    if served_by_voila():
        asyncio.get_running_loop().call_soon(fill, shown.page)
    else:
        shown.page.update()


def fill(page) -> None:
    """``page.update()`` after the cell: a failure puts a French message at the top of the
    page, and its traceback in the server's log only."""
    try:
        page.update()
    except Exception:
        report_failure(page.widget, page.widget.children)


def display_plotly_loader() -> None:
    """Display ``LOADER`` among the cell's own outputs (hidden by the dashboards' style)."""
    from IPython.display import display

    display({"application/vnd.plotly.v1+json": LOADER, "text/plain": ""}, raw=True)


def report_failure(box, children: tuple) -> None:
    """A page that could not be built or filled: ``FAILED_PAGE`` at the top of ``box``, above
    ``children``; the traceback in the server's log only."""
    import ipywidgets

    traceback.print_exc(file=sys.__stderr__)
    box.children = (ipywidgets.HTML(message_html(FAILED_PAGE)), *children)


def keep_errors_in_the_log() -> None:
    """In a kernel serving visitors, an error caused by a browser's message is written to the
    server's log, and the browser gets ``REFUSED``, not a Python traceback naming the server's
    files. Two paths lead there outside any cell (Voilà's ``show_tracebacks`` covers cells
    only): ipywidgets reports a failed widget update through the shell's ``showtraceback``,
    and the comm managers log to ``sys.stderr``, which ipykernel forwards to the browser.

    The shell's ``showtraceback`` is replaced on this kernel's shell alone (IPython has no
    setting for it); formatting only the plain traceback also saves the half second IPython's
    coloured one took for each refused message."""
    import logging

    from IPython import get_ipython

    shell = get_ipython()
    if shell is None or getattr(shell, "_errors_in_log", False):
        return
    refused = type("Erreur", (Exception,), {})

    def showtraceback(exc_tuple=None, *args, **kwargs) -> None:
        kind, value, trace = exc_tuple or sys.exc_info()
        traceback.print_exception(kind, value, trace, file=sys.__stderr__)
        shell._showtraceback(refused, REFUSED, [REFUSED])

    shell.showtraceback = showtraceback
    shell._errors_in_log = True
    # Logging with no handler writes to sys.stderr (Python's last resort): give it one that
    # writes to the process's own stderr, the server's log.
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler(sys.__stderr__))


def message_html(text: str) -> str:
    """A message for the visitor."""
    return f'<div class="obs-message" role="alert">{html.escape(text)}</div>'


def served_by_voila() -> bool:
    """True in a kernel answering a visitor's request through Voilà (not papermill)."""
    return os.environ.get("SERVER_SOFTWARE", "").startswith("voila/")


def preheating() -> bool:
    """True in a Voilà kernel started ahead of visitors (work done now is free for them)."""
    return os.environ.get("VOILA_PREHEAT", "False") == "True"
