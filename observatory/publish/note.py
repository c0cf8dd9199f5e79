"""The printable note of a territory: what a CRESS « Panorama » or an Insee Analyses page gives an
elected official, in 4 to 8 A4 pages.

The note is an HTML page made from a portrait (:class:`observatory.publication.Portrait`): key
messages in sentences (:mod:`observatory.views.messages`), key figures, the comparison with the
reference territory and France, the map (plain shapes, :mod:`observatory.views.flat_map`), families,
sectors, the evolution, then sources and definitions. Headless Chromium prints it to PDF with
its print style (A4) and, on every page, a header and a footer naming the note, the territory,
the year, the source, the page number and, on demo data, « Données de démonstration ».

The refresh writes ``<niveau>/<code>-note.html`` beside each static portrait, with the site's
``assets/plotly-basic.min.js``, and prints it to ``<niveau>/<code>.pdf``.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import date
from html import unescape
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from observatory import domains, formatting, indicators, settings
from observatory.errors import NoteError
from observatory.views import blocks, charts, frames, html, key_figures, messages, territory_view
from observatory.views.html import esc

PLOTLY_SRC = "../assets/plotly-basic.min.js"  # the note sits in a level's folder of the site
WIDTH = 680  # pixels: an A4 page's text (186 mm at 96 dpi) less a margin
MAX_HEIGHT = 480  # pixels: a chart and its table share a page
NOTE_BLOCKS = ("familles", "secteurs", "domaines", "evolution")  # after the map, in this order
# The flags that work in a container (the browser tests launch Chromium with them too).
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PRINT_TIMEOUT = 120_000  # ms, on a busy machine


def note_html(portrait) -> str:
    """The note of ``portrait`` as an HTML page that prints on A4, from the portrait's own
    warehouse."""
    wh = portrait.wh
    view, territory = portrait.view, portrait.territory
    frame, year = view.frame, view.year
    here = messages.place(territory)
    source = frame["source"].iloc[0]  # the ESS figures' (every source in the last section)
    header = f"L'ESS {here.at} · {year} · Observatoire régional de l'ESS"
    compared = f"référence : {view.reference.label}" if view.reference is not None else ""
    printable = portrait if portrait.publication else replace(portrait, publication=True)
    by_slug = {block.slug: block for block in printable.blocks()}  # the map of plain shapes
    charts = [by_slug[s] for s in by_slug if s.startswith("carte-")]
    charts += [by_slug[s] for s in NOTE_BLOCKS if s in by_slug]
    sections = "".join(_block_html(block) for block in charts)
    demo = portrait.demo
    return NOTE.format(
        title=esc(f"L'économie sociale et solidaire {here.at}, {year}"),
        plotly=esc(PLOTLY_SRC),
        css=NOTE_CSS,
        header=esc(header),
        footer=esc(f"Source : {source}"),
        demo=esc(settings.DEMO_LABEL if demo else ""),
        banner=html.banner_html() if demo else "",
        h1=esc(f"L'économie sociale et solidaire {here.at}"),
        subtitle=esc(
            f"Note de l'Observatoire régional de l'ESS · chiffres {year}"
            + (f" · {compared}" if compared else "")
        ),
        produced=esc(formatting.long_date(date.today())),
        messages=messages.section_html(wh, frame, territory, view.reference),
        key_figures=key_figures.key_figures_html(
            frame, territory, indicators.parent_of(wh, territory)
        ),
        comparison=_comparison_html(wh, portrait),
        sections=sections,
        sources=_sources_html(frame, year, demo),
    )


def _block_html(block: blocks.Block) -> str:
    """A chart of the portrait, at the width of the page, with its description, source and
    data table."""
    if block.empty:
        return f'<section class="note-block"><h2>{esc(block.title)}</h2><p>{esc(block.empty)}</p></section>'
    figure = "" if block.figure is None else _figure_html(block.figure, f"{block.slug}-note")
    return (
        f'<section class="note-block"><h2>{esc(block.title)}</h2>'
        f'<p class="obs-alt">{esc(block.alt)}</p>{figure}{block.source}'
        + html.table_html(block.table, f"Données du graphique : {block.title}")
        + "</section>"
    )


def _figure_html(figure: go.Figure, div_id: str) -> str:
    """A chart drawn once, still (no toolbar, no tooltip), at the width of the page."""
    printed = go.Figure(figure)
    printed.update_layout(
        width=WIDTH,
        height=min(figure.layout.height or 400, MAX_HEIGHT),
        font=dict(size=12),
        title=dict(font=dict(size=14)),
    )
    if "carte-" not in div_id:
        printed.update_yaxes(automargin=True)
    return printed.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        config={
            "staticPlot": True,
            "locale": "fr",
            "locales": {"fr": charts.PLOTLY_LOCALE_FR},
        },
    )


def _comparison_html(wh, portrait) -> str:
    """Key figures of the territory beside its reference's, France's and « France de
    province »'s (secrecy applied), with the change of its posts beside theirs."""
    view, territory = portrait.view, portrait.territory
    year = view.year
    columns = blocks.comparison_columns(view.frame, territory)
    change = f"Évolution des postes de l'ESS, {year - 1}-{year}"
    changes = {
        place.label: frames.row(frame, "employees_annual_change", str(year))
        for place, frame in territory_view.comparison_series(
            wh, territory, view.frame, view.reference
        )
    }
    table = {"Indicateur": [label for _, _, label in blocks.COMPARED_ROWS] + [change]}
    for label, cells in columns.items():
        table[label] = [
            *["n.d." if c is None else c["display"] for c in cells],
            formatting.MISSING if changes.get(label) is None else changes[label]["display"],
        ]
    return html.table_html(
        pd.DataFrame(table), f"Comparaison, {year} : {territory.label} et ses références"
    )


def _sources(frame) -> str:
    """The sources of the figures, once each."""
    return " ; ".join(dict.fromkeys(s for s in frame["source"].dropna() if s))


def _sources_html(frame, year: int, demo: bool) -> str:
    """Sources, vintage, definitions, secrecy and series break."""
    definitions = [
        indicators.REGISTRY[code]
        for code in (
            "ess_employees",
            "ess_establishments",
            "ess_share_employees",
            "ess_share_private_employees",
            "ess_fte",
            "ess_gross_wages",
            "ess_average_wage_fte",
            "family_employees",
            "family_share_employees",
            "sector_ess_share",
            "domain_employees",
            "employees_index",
            "employees_annual_change",
            "rank_ess_share_employees",
            "gap_ess_share_employees",
        )
    ]
    items = "".join(f"<dt>{esc(d.label)}</dt><dd>{esc(d.definition)}</dd>" for d in definitions)
    series = "Clap" if year <= 2015 else "Flores"
    notes = [
        f"Sources : {_sources(frame)} ; millésime {year} (série {series}).",
        "Géographie : INSEE, Code officiel géographique ; contours IGN Admin Express "
        "simplifiés. Les EPCI sont rattachés au département où vit la plus grande partie de "
        "leur population.",
        f"{indicators.PROVINCE_LABEL} : la France entière moins la région Île-de-France.",
        "Domaines d'activité : regroupements de sous-classes NAF définis par l'observatoire "
        "d'après les notes des observatoires de l'ESS ; "
        + " ; ".join(f"{label} : {naf}" for _, label, naf in domains.DOMAINS)
        + ".",
        "Classes de la carte : seuils naturels de Jenks.",
        "La série Clap (jusqu'en 2015) et la série Flores (depuis 2016) ne sont pas "
        "comparables : les évolutions qui franchissent 2015-2016 ne le sont pas non plus.",
        html.SECRET_NOTE,
    ]
    if demo:
        notes.insert(
            0,
            f"{settings.DEMO_LABEL} : chiffres synthétiques calibrés sur des données publiées "
            "(INSEE, Clap 2014). Ils montrent ce que la note dira des vrais chiffres ; ils ne "
            "décrivent pas le territoire et ne doivent pas être cités.",
        )
    return (
        '<section class="note-sources"><h2>Sources et définitions</h2>'
        + "".join(f"<p>{esc(n)}</p>" for n in notes)
        + f'<dl class="note-definitions">{items}</dl></section>'
    )


# ---------------------------------------------------------------------------------------------
# Printing


class Printer:
    """Headless Chromium printing notes to PDF, started once for many notes::

    with Printer() as printer:
        printer.print(Path("departement/48-note.html"), Path("departement/48.pdf"))
    """

    def __enter__(self) -> Printer:
        executable = settings.chromium_path()
        if not executable.is_file():
            raise NoteError(
                f"Chromium introuvable ({executable}) : il imprime les notes en PDF (sous "
                "Debian : apt-get install chromium, ou make chromium ; ailleurs, indiquez son "
                "chemin dans OBSERVATORY_CHROMIUM)"
            )
        # Playwright's sync API refuses a thread whose asyncio loop runs (a Jupyter kernel, or
        # another sync Playwright open in the same thread): it lives in a thread of its own.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="note-printer")
        try:
            self._thread.submit(self._start, executable).result()
        except BaseException:
            self._thread.shutdown()
            raise
        return self

    def _start(self, executable: Path) -> None:
        from playwright.sync_api import sync_playwright

        self._playwright = sync_playwright().start()
        try:
            self._browser = self._playwright.chromium.launch(
                executable_path=executable, args=CHROMIUM_FLAGS
            )
            self._page = self._browser.new_context(offline=True).new_page()
            self._folder: Path | None = None  # of the note the page was loaded from
        except Exception:
            self._playwright.stop()
            raise

    def __exit__(self, *exc) -> None:
        try:
            self._thread.submit(self._stop).result()
        finally:
            self._thread.shutdown()

    def _stop(self) -> None:
        try:
            self._browser.close()
        finally:
            self._playwright.stop()

    def print(self, note: Path, pdf: Path) -> None:
        """Print the note at ``note`` (HTML) to ``pdf``, once every chart is drawn.

        The first note of a folder loads its page, with the notes' style and plotly.js; the
        next ones only replace its body and run their charts (0,2 s a note instead of 0,5 s:
        plotly.js is not parsed again), and must then show their own title."""
        self._thread.submit(self._print, note, pdf).result()

    def _print(self, note: Path, pdf: Path) -> None:
        text = note.read_text(encoding="utf-8")
        meta = {name: unescape(value) for name, value in META.findall(text)}
        title = unescape(TITLE.search(text).group(1))
        page = self._page
        if self._folder != note.parent:
            page.goto(note.absolute().as_uri(), wait_until="load", timeout=PRINT_TIMEOUT)
            self._folder = note.parent
        else:
            page.evaluate(SWAP_BODY, dict(body=BODY.search(text).group(1), title=title))
        page.wait_for_function(CHARTS_DRAWN, timeout=PRINT_TIMEOUT)
        shown = page.evaluate("document.querySelector('h1').textContent")
        if shown != unescape(H1.search(text).group(1)):
            raise NoteError(f"{note} : la page imprimée montre « {shown} », pas cette note")
        temporary = pdf.with_name(f".{pdf.name}.tmp")
        page.pdf(
            path=temporary,
            format="A4",
            print_background=True,
            display_header_footer=True,
            header_template=_band(meta["header"], meta["demo"]),
            footer_template=_band(
                meta["footer"],
                meta["demo"],
                'page <span class="pageNumber"></span> sur <span class="totalPages"></span>',
            ),
            margin=dict(top="20mm", bottom="20mm", left="12mm", right="12mm"),
            scale=0.9,
        )
        temporary.replace(pdf)


# The parts of a note's page the printer reads (the page is ours: NOTE below).
META = re.compile(r'<meta name="note-(\w+)" content="([^"]*)">')
TITLE = re.compile(r"<title>(.*?)</title>", re.S)
H1 = re.compile(r"<h1>(.*?)</h1>", re.S)
BODY = re.compile(r"<body[^>]*>(.*)</body>", re.S)
CHARTS_DRAWN = "[...document.querySelectorAll('.js-plotly-plot')].every(chart => chart.querySelector('.main-svg'))"
# Scripts set by innerHTML do not run: each is replaced by a copy, which runs when inserted.
SWAP_BODY = """({body, title}) => {
  document.title = title;
  document.body.innerHTML = body;
  for (const old of document.body.querySelectorAll("script")) {
    const script = document.createElement("script");
    script.textContent = old.textContent;
    old.replaceWith(script);
  }
}"""


def _band(text: str, demo: str, right: str = "") -> str:
    """A page header or footer: Chromium draws it in its own document, styled inline."""
    label = f"<b>{esc(demo)}</b> · " if demo else ""
    return (
        '<div style="font:8px Arial,sans-serif;color:#333;width:100%;margin:0 12mm;'
        'display:flex;justify-content:space-between;gap:4mm">'
        f"<span>{label}{esc(text)}</span><span>{right}</span></div>"
    )


NOTE_CSS = (
    html.STYLE.removeprefix("<style>").removesuffix("</style>")
    + """
@page{size:A4}
body{font-family:Arial,sans-serif;color:#1a1a1a;margin:0;font-size:11pt}
h1{font-size:20pt;margin:.2em 0}h2{font-size:14pt;margin:.8em 0 .3em}
.note-kicker,.note-sub{color:#333;margin:.2em 0}
.obs-messages ul{padding-left:1.2em}.obs-messages li{margin:.35em 0}
.obs-key-figures{display:grid;grid-template-columns:repeat(4,1fr);gap:.5em;margin:.6em 0}
.obs-card{min-width:0;padding:.4em .6em}.obs-card-value{font-size:1.4em}.obs-card-note{font-size:8pt}
.obs-table{font-size:9pt;break-inside:auto}.obs-table tr{break-inside:avoid}
.note-block .obs-table{font-size:8pt}.note-block .obs-table td,.note-block .obs-table th{padding:.15em .4em}
.note-block .obs-alt,.note-block .obs-source{font-size:9pt}
.note-block{break-before:page}
.note-block h2,.note-sources h2{break-after:avoid}
.js-plotly-plot{break-inside:avoid;margin:.5em 0}
.note-sources{break-before:page;font-size:10pt}
.note-definitions dt{font-weight:bold;margin-top:.4em}.note-definitions dd{margin:0 0 0 1em}
"""
)

NOTE = """<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<title>{title}</title>
<meta name="note-header" content="{header}">
<meta name="note-footer" content="{footer}">
<meta name="note-demo" content="{demo}">
<style>{css}</style>
<script src="{plotly}"></script>
</head>
<body class="obs-page">
{banner}
<p class="note-kicker">Observatoire régional de l'ESS · note territoriale</p>
<h1>{h1}</h1>
<p class="note-sub">{subtitle} · produite le {produced}</p>
{messages}
<h2>Chiffres clés</h2>
{key_figures}
{comparison}
{sections}
{sources}
</body>
</html>
"""
