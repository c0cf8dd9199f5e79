"""The static site of portraits: the portrait notebook executed for many territories.

Each worker process starts **one** Jupyter kernel and runs the portrait notebook in it once per
territory (papermill's parameter injection, nbclient's cell execution), then converts the
executed notebook to HTML with nbconvert, without code. Each page carries its style and
plotly.js's basic bundle (``observatory/assets/plotly-basic.min.js``, 1,2 Mo) and draws its map
with plain shapes (:mod:`observatory.views.flat_map`): copied alone anywhere, sent by email or opened
from disk, it draws every chart offline, and it prints on A4. Beside each page, the portrait's
table (secrecy applied) as CSV, and its printable note (:mod:`observatory.publish.note`): the kernel that
ran the notebook writes the note's page, and the worker's headless Chromium prints it to PDF.

Layout of a site folder::

    index.html                       every portrait, with its key figures
    region/76.html, region/76.csv    a région's portrait and its table
    region/76.pdf, region/76-note.html   its printable note, and the page printed (audited)
    departement/34.html, .csv, .pdf  a département's
    epci/<siren>.html, .csv          an EPCI's (optional)
    assets/observatoire.css          the index's style
    assets/plotly-basic.min.js       plotly.js for the notes' pages
    release.json                     what was published, when, from which warehouse
    runs/                            the refreshes' public summaries (a link, made by the refresh)

A refresh killed outright takes its workers along: each asks Linux to kill it when its parent
dies (``prctl(PR_SET_PDEATHSIG)``), and each worker's kernel stops when its parent is gone.
"""

from __future__ import annotations

import copy
import ctypes
import json
import multiprocessing
import os
import re
import shutil
import signal
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from datetime import datetime
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path

import psutil

from observatory import formatting, indicators, settings
from observatory.errors import SiteError
from observatory.publish import note, portrait
from observatory.views import frames, html
from observatory.views.html import esc
from observatory.warehouse import open_warehouse

LEVELS = ("region", "departement", "epci")
LEVEL_TITLES = {"region": "Régions", "departement": "Départements", "epci": "EPCI"}
# Cells tagged so are for analysts in JupyterLab only (how to run the notebook, for example).
NOTEBOOK_ONLY_TAG = "notebook-only"
# Run after the notebook's cells, in the same kernel: the printable note of the portrait the
# notebook built (its page as an output, printed to PDF by the worker's Chromium).
NOTE_CELL = "portrait.show_note()"
CELL_TIMEOUT = 600
ANSI_COLOURS = re.compile(r"\x1b\[[0-9;]*m")  # in kernel tracebacks
PR_SET_PDEATHSIG = 1  # linux/prctl.h
PLOTLY_BASIC = Path(__file__).parents[1] / "assets" / "plotly-basic.min.js"


@dataclass(frozen=True)
class Page:
    """One published portrait."""

    level: str
    code: str
    name: str

    @property
    def path(self) -> str:
        return f"{self.level}/{self.code}.html"

    @property
    def note_path(self) -> str:
        """The printable note's page, printed to ``pdf_path``."""
        return f"{self.level}/{self.code}-note.html"

    @property
    def pdf_path(self) -> str:
        return f"{self.level}/{self.code}.pdf"


@dataclass
class PageResult:
    page: Page
    seconds: float
    employees: str  # key figures for the index, as displayed (« s » when masked)
    share: str


@dataclass
class SiteReport:
    """What a site render did."""

    pages: list[PageResult] = field(default_factory=list)
    seconds: float = 0.0
    workers: int = 0
    year: int | None = None
    demo: bool = False


def pages_to_publish(
    db_path: Path, epci: bool = False, only: list[str] | None = None
) -> list[Page]:
    """Every région and département (and EPCI with ``epci``), or the ``only`` ones given as
    ``niveau:code`` (``region:76``, ``departement:34``)."""
    with open_warehouse(db_path) as wh:
        if only:
            pages = []
            for item in only:
                level, sep, code = item.strip().partition(":")
                if not sep or level not in LEVELS:
                    raise SiteError(
                        f"portrait « {item} » : attendu niveau:code, niveau parmi "
                        f"{', '.join(LEVELS)} (par exemple departement:34)"
                    )
                territory = indicators.resolve(wh, code, level)
                pages.append(Page(level, territory.code, territory.name))
            return pages
        levels = LEVELS if epci else LEVELS[:2]
        return [
            Page(level, row.code, row.name)
            for level in levels
            for row in wh.territories(level).sort_values("code").itertuples()
        ]


def render_site(
    db_path: Path,
    out_dir: Path,
    pages: list[Page],
    workers: int | None = None,
    on_page: Callable[[PageResult], None] | None = None,
    notebook: Path | None = None,
) -> SiteReport:
    """Render ``pages`` from the warehouse at ``db_path`` into ``out_dir`` (created)."""
    started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    with open_warehouse(db_path) as wh:
        year, demo = indicators.resolve_year(wh, None), wh.is_demo()
    workers = max(1, min(workers or default_workers(), len(pages) or 1))
    report = SiteReport(workers=workers, year=year, demo=demo)
    chunks = [pages[i::workers] for i in range(workers)]
    job = dict(
        db_path=str(db_path),
        out_dir=str(out_dir),
        notebook=str(notebook or settings.PORTRAIT_NOTEBOOK),
        year=year,
    )
    _write_assets(out_dir)
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=get_context("spawn"),
        initializer=_die_with_parent,
        initargs=(os.getpid(),),
    )
    try:
        futures = [pool.submit(_render_chunk, chunk, job) for chunk in chunks if chunk]
        for future in futures:
            for result in future.result():
                report.pages.append(result)
                if on_page:
                    on_page(result)
    except BaseException:  # a failed portrait, or the refresh stopped by a signal
        _stop_workers()
        raise
    finally:
        pool.shutdown(cancel_futures=True)
    order = {page: i for i, page in enumerate(pages)}
    report.pages.sort(key=lambda r: order[r.page])
    (out_dir / "index.html").write_text(index_html(report), encoding="utf-8")
    report.seconds = time.perf_counter() - started
    return report


def default_workers() -> int:
    """One kernel per core, at most four (each kernel holds a few hundred MB)."""
    return max(1, min(4, os.cpu_count() or 1))


def _die_with_parent(parent: int) -> None:
    """Worker initializer: Linux kills this worker when the process that started it dies, even
    by SIGKILL (its kernel follows: ipykernel watches its own parent). Workers are started
    from the thread that submits, the main one, whose end is the signal's trigger."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the request
        os._exit(1)


def _stop_workers() -> None:
    """Terminate the workers and their kernels now, and wait for them: ``shutdown`` would wait
    for the portraits under way (ProcessPoolExecutor has no public way to stop its workers
    before Python 3.14's ``terminate_workers``). The pool's workers are this process's only
    multiprocessing children."""
    processes = []
    for worker in multiprocessing.active_children():
        with suppress(psutil.NoSuchProcess):
            process = psutil.Process(worker.pid)
            processes += [process, *process.children(recursive=True)]
    for process in processes:
        with suppress(psutil.NoSuchProcess):
            process.terminate()
    _gone, alive = psutil.wait_procs(processes, timeout=10)
    for process in alive:
        with suppress(psutil.NoSuchProcess):
            process.kill()


def _write_assets(out_dir: Path) -> None:
    assets = out_dir / "assets"
    assets.mkdir(exist_ok=True)
    (assets / "observatoire.css").write_text(site_css(), encoding="utf-8")
    shutil.copyfile(PLOTLY_BASIC, assets / PLOTLY_BASIC.name)  # for the notes' pages


def site_css() -> str:
    return html.STYLE.removeprefix("<style>").removesuffix("</style>") + SITE_CSS


@lru_cache(maxsize=1)
def plotly_basic() -> str:
    """plotly.js's basic bundle (bars, lines, filled shapes), vendored with the package."""
    return PLOTLY_BASIC.read_text(encoding="utf-8")


def _render_chunk(pages: list[Page], job: dict) -> list[PageResult]:
    """Worker process: one kernel runs the portrait notebook for each page in turn."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    from nbconvert import HTMLExporter
    from nbformat.v4 import new_code_cell
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    source = load_notebook_node(job["notebook"])
    exporter = HTMLExporter(
        template_name="basic",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    client = NotebookClient(
        source,
        kernel_name=settings.KERNEL_NAME,
        timeout=CELL_TIMEOUT,
        resources={"metadata": {"path": str(settings.PROJECT_ROOT)}},
    )
    out_dir = Path(job["out_dir"])
    results = []
    kernel_env = {**os.environ, "OBSERVATORY_DB": job["db_path"]}
    with (
        client.setup_kernel(env=kernel_env),
        open_warehouse(Path(job["db_path"])) as wh,
        note.Printer() as printer,
    ):
        for page in pages:
            started = time.perf_counter()
            nb = parameterize_notebook(
                copy.deepcopy(source),
                dict(territoire=page.code, niveau=page.level, annee=job["year"], publication=True),
                kernel_name=settings.KERNEL_NAME,
            )
            client.nb = nb
            nb.cells.append(new_code_cell(NOTE_CELL))
            try:
                for index, cell in enumerate(nb.cells):
                    if cell.cell_type == "code":
                        client.execute_cell(cell, index)
            except CellExecutionError as exc:
                reason = ANSI_COLOURS.sub("", str(exc)).strip().splitlines()[-1]
                raise SiteError(
                    f"portrait {page.level} {page.code} ({page.name}) : {reason}"
                ) from None
            note_html = nb.cells.pop().outputs[0]["data"]["text/html"]
            nb.cells = [c for c in nb.cells if NOTEBOOK_ONLY_TAG not in c.metadata.get("tags", [])]
            body, _ = exporter.from_notebook_node(nb)
            frame = portrait.portrait(wh, page.code, page.level, job["year"])
            target = out_dir / page.path
            target.parent.mkdir(parents=True, exist_ok=True)
            portrait.write(frame, target.with_suffix(".csv"))
            target.write_text(page_html(page, body, job["year"]), encoding="utf-8")
            note_page = out_dir / page.note_path
            note_page.write_text(note_html, encoding="utf-8")
            try:
                printer.print(note_page, out_dir / page.pdf_path)
            except Exception as exc:
                raise SiteError(
                    f"note imprimable {page.level} {page.code} ({page.name}) : {exc}"
                ) from exc
            employees = frames.row(frame, "ess_employees")
            share = frames.row(frame, "ess_share_employees")
            results.append(
                PageResult(
                    page, time.perf_counter() - started, employees["display"], share["display"]
                )
            )
    return results


def page_html(page: Page, body: str, year: int) -> str:
    """A portrait page: the executed notebook's outputs inside the site's frame, with its style,
    plotly.js and the redrawing of its charts for print, so that it works on its own."""
    return PAGE.format(
        title=esc(f"L'ESS : {page.name}, {year}"),
        body=body,
        head=f"<style>{site_css()}</style>\n<script>{plotly_basic()}</script>\n{PRINT_SCRIPT}",
        index="../index.html",
        links=f'<a href="{esc(page.code)}.pdf">Note imprimable (PDF)</a>'
        f'<a href="{esc(page.code)}.csv">Tableau du portrait (CSV, secret statistique '
        "appliqué)</a>",
        generated=esc(formatting.long_date(datetime.now())),
    )


def index_html(report: SiteReport) -> str:
    """The site's home page: every portrait, grouped by level, with its key figures."""
    sections = []
    for level in LEVELS:
        rows = [r for r in report.pages if r.page.level == level]
        if not rows:
            continue
        body = "".join(
            f"<tr><th scope='row'><a href='{esc(r.page.path)}'>{esc(r.page.name)}</a></th>"
            f"<td>{esc(r.page.code)}</td><td>{esc(r.employees)}</td><td>{esc(r.share)}</td>"
            f"<td><a href='{esc(r.page.pdf_path)}'>PDF</a></td></tr>"
            for r in rows
        )
        sections.append(
            f"<h2>{LEVEL_TITLES[level]}</h2><table class='obs-table'><caption>"
            f"{LEVEL_TITLES[level]} : chiffres clés {report.year}</caption><thead><tr>"
            "<th scope='col'>Territoire</th><th scope='col'>Code</th>"
            "<th scope='col'>Postes salariés de l'ESS</th>"
            "<th scope='col'>Part de l'ESS dans l'emploi salarié</th>"
            "<th scope='col'>Note imprimable</th></tr></thead>"
            f"<tbody>{body}</tbody></table>"
        )
    banner = html.banner_html() if report.demo else ""
    body = (
        banner + "<h1>Portraits de l'économie sociale et solidaire</h1>"
        f"<p class='obs-source'>{formatting.number(len(report.pages))} portraits, données "
        f"{report.year}, publiés le {formatting.long_date(datetime.now())}. "
        "<a href='runs/index.html'>Historique des actualisations</a>.</p>" + "".join(sections)
    )
    return PAGE.format(
        title="Portraits de l'ESS",
        body=body,
        head='<link rel="stylesheet" href="assets/observatoire.css">',
        index="index.html",
        links="",
        generated=esc(formatting.long_date(datetime.now())),
    )


RUN_OUTCOMES = {
    "succès": "réussie",
    "échec": "échouée",
    "interrompue": "interrompue",
    "arrêtée": "arrêtée",
    "en cours": "en cours",
}


def runs_index_html(summaries: list[dict]) -> str:
    """The page of the refreshes' public summaries (``runs/index.html``), latest first."""
    rows = []
    for run in summaries:
        started = datetime.fromisoformat(run["started"])
        seconds = run.get("seconds")
        rows.append(
            f"<tr><th scope='row'>{esc(formatting.long_date(started))} à "
            f"{started:%H:%M}</th><td>{esc(RUN_OUTCOMES.get(run['outcome'], run['outcome']))}"
            f"</td><td>{esc(formatting.number(seconds, 1) + ' s' if seconds else formatting.MISSING)}"
            f"</td><td>{esc(formatting.number(run['counts'].get('portraits')))}</td>"
            f"<td>{'démonstration' if run.get('demo') else 'réelles'}</td>"
            f"<td><a href='{esc(run['run_id'])}.json'>compte rendu (JSON)</a></td></tr>"
        )
    body = (
        "<h1>Historique des actualisations</h1>"
        "<p class='obs-source'>Chaque actualisation reconstruit l'entrepôt et les portraits ; "
        "une actualisation qui n'aboutit pas laisse en ligne les données et le site précédents."
        "</p><table class='obs-table'><caption>Actualisations, la plus récente d'abord"
        "</caption><thead><tr><th scope='col'>Début</th><th scope='col'>Résultat</th>"
        "<th scope='col'>Durée</th><th scope='col'>Portraits</th><th scope='col'>Données</th>"
        f"<th scope='col'>Détail</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    return PAGE.format(
        title="Historique des actualisations",
        body=body,
        head='<link rel="stylesheet" href="../assets/observatoire.css">',
        index="../index.html",
        links="",
        generated=esc(formatting.long_date(datetime.now())),
    )


def write_release(out_dir: Path, report: SiteReport, run_id: str) -> None:
    """``release.json``: what this version of the site holds."""
    document = dict(
        run_id=run_id,
        year=report.year,
        demo=report.demo,
        created=datetime.now().astimezone().isoformat(timespec="seconds"),
        pages=[asdict(r.page) | dict(path=r.page.path) for r in report.pages],
    )
    (out_dir / "release.json").write_text(
        json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8"
    )


SITE_CSS = """
body{margin:0 auto;max-width:1200px;padding:0 1em;font-family:Arial,sans-serif;color:#1a1a1a}
.site-nav{padding:.6em 0;border-bottom:1px solid #ccc;margin-bottom:1em}
.site-nav a{margin-right:1.5em}
.site-footer{font-size:.85em;color:#333;border-top:1px solid #ccc;margin-top:2em;padding:.6em 0}
.jp-Cell{margin:0}
@media (max-width:600px){.obs-table{display:block;overflow-x:auto}}
@media print{
 @page{size:A4;margin:14mm 12mm}
 body{max-width:none;padding:0}
 .site-nav,.obs-downloads,.modebar-container,.anchor-link{display:none !important}
 .obs-block,.obs-key-figures,.obs-table,.js-plotly-plot{break-inside:avoid}
 .obs-block h2{break-after:avoid}
}
"""
# Charts are drawn at the width of the screen: before printing, each is redrawn at the width of
# an A4 page's text (186 mm, 700 px), and back afterwards.
PRINT_SCRIPT = """<script>
addEventListener("beforeprint", () => document.querySelectorAll(".js-plotly-plot")
  .forEach(chart => Plotly.relayout(chart, {width: 700})));
addEventListener("afterprint", () => document.querySelectorAll(".js-plotly-plot")
  .forEach(chart => Plotly.relayout(chart, {width: null, autosize: true})));
</script>"""

PAGE = """<!DOCTYPE html>
<html lang="fr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Observatoire régional de l'ESS</title>
{head}
</head>
<body>
<nav class="site-nav" aria-label="Navigation"><a href="{index}">Tous les portraits</a>{links}</nav>
<main class="obs-page">
{body}
</main>
<footer class="site-footer">Observatoire régional de l'ESS · page produite le {generated}.</footer>
</body>
</html>
"""
