"""Speed of the Voilà dashboards in headless Chromium (Playwright), against `observatory serve`.

Each page is a new visitor (a new browser context, nothing cached). Measures the first chart of
a portrait with a preheated kernel (the pool warmed up again before each one) and with a cold
kernel (started for the request, as when no preheated kernel is left), the redraw after a change
of territory on a page that has finished drawing, and chained without a pause (new key figures,
then the new territory's first chart, then every chart), the regional map switched to EPCI and
the accompaniment page filtered by type (once the server's views process has computed what it
computes ahead), and the memory of each visitor's kernel. Targets: 3 s, 6 s, 0,5 s, 1 s, 250 Mo.
``run(workdir)`` returns a Markdown section.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import Server, pool_sizes
from observatory import formatting
from observatory.dashboards.common import CHARTS

CHROMIUM = "/usr/bin/chromium"
TARGETS = {"preheated": 3.0, "cold": 6.0, "redraw": 0.5, "switch": 1.0, "memory": 250.0}
TIMEOUT = 180_000  # ms
PORTRAIT = "/voila/render/portrait.ipynb?territoire="
CHANGES = ("Haute-Garonne (département 31)", "Aude (département 11)", "Occitanie (région 76)")
SETTLE = 2_000  # ms: a visitor reads the page before choosing another territory
FILTERS = ("Pépinière", "Incubateur", "Tiers-lieu")  # accompaniment types, one after the other
EPCI_MAP = (  # a chart whose locations are EPCI codes (9 digits)
    f"() => [...document.querySelectorAll('{CHARTS}')].some(p => p.data.some("
    "t => (t.locations || []).some(c => String(c).length === 9)))"
)


def _open(browser, url: str) -> tuple[float, object]:
    """A new visitor opening ``url``: seconds until its first chart is drawn, and the page."""
    page = browser.new_page(viewport={"width": 1280, "height": 1000}, locale="fr-FR")
    started = time.perf_counter()
    page.goto(url, timeout=TIMEOUT)
    page.wait_for_selector(CHARTS, timeout=TIMEOUT)
    return time.perf_counter() - started, page


def _kernel_id(page) -> str:
    return page.evaluate(
        "JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId"
    )


def _change(page, label: str) -> tuple[float, float, float]:
    """Pick ``label`` in the selector: seconds until its key figures, its first chart and all
    of its charts are drawn."""
    name = label.split(" (")[0]
    started = time.perf_counter()
    page.locator(".obs-territory input").fill(label)
    page.wait_for_function(
        "name => document.querySelector('h2.obs-title').innerText.startsWith(name)",
        arg=name,
        timeout=TIMEOUT,
    )
    figures = time.perf_counter() - started
    page.wait_for_function(
        f"label => [...document.querySelectorAll('{CHARTS}')].some(p => p._fullLayout "
        "&& JSON.stringify(p.layout.title || '').includes(label))",
        arg=label,
        timeout=TIMEOUT,
    )
    first = time.perf_counter() - started
    page.wait_for_function(
        "() => !document.body.innerText.includes('Calcul en cours') "
        f"&& document.querySelectorAll('{CHARTS}').length >= 6",
        timeout=TIMEOUT,
    )  # 5 + map
    return figures, first, time.perf_counter() - started


def _timed(page, action, done: str, arg=None) -> float:
    """Seconds from ``action`` until the page's ``done`` function returns true."""
    started = time.perf_counter()
    action()
    page.wait_for_function(done, arg=arg, timeout=TIMEOUT)
    return time.perf_counter() - started


def _switches(browser, base: str) -> tuple[float, list[float]]:
    """The regional map switched to EPCI; the accompaniment page filtered by each of
    ``FILTERS``, each once the previous one is shown (its title changed)."""
    page = browser.new_page(viewport={"width": 1440, "height": 1000}, locale="fr-FR")
    page.goto(base + "/voila/render/vue-regionale.ipynb", timeout=TIMEOUT)
    page.wait_for_function(f"document.querySelectorAll('{CHARTS}').length >= 4", timeout=TIMEOUT)
    page.wait_for_timeout(SETTLE)
    epci = _timed(page, lambda: page.get_by_role("button", name="EPCI").click(), EPCI_MAP)
    page.close()
    page = browser.new_page(viewport={"width": 1440, "height": 1000}, locale="fr-FR")
    page.goto(base + "/voila/render/accompagnement.ipynb", timeout=TIMEOUT)
    page.wait_for_function(f"document.querySelectorAll('{CHARTS}').length >= 3", timeout=TIMEOUT)
    filters = []
    for label in FILTERS:
        page.wait_for_timeout(SETTLE)
        title = page.inner_text("h2.obs-title")
        filters.append(
            _timed(
                page,
                lambda label=label: page.locator("select").nth(1).select_option(label=label),
                "before => document.querySelector('h2.obs-title').innerText !== before",
                title,
            )
        )
    page.close()
    return epci, filters


def run(workdir) -> str:
    from playwright.sync_api import sync_playwright

    workdir = Path(workdir)
    db = workdir / "observatory.duckdb"
    subprocess.run(
        [sys.executable, "-m", "observatory.cli", "build", "--db", str(db)],
        check=True,
        capture_output=True,
    )
    pools = pool_sizes()
    load = [os.getloadavg()[0]]
    server = Server.start(db, workdir / "voila.log")
    base = server.url + PORTRAIT
    try:
        warm_up = server.wait_until_ready(sum(pools.values()))
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
            )
            preheated, memory = [], []
            for code in ("34", "31", "11"):
                seconds, page = _open(browser, base + code)
                preheated.append(seconds)
                memory.append(server.memory().get(_kernel_id(page)))
                page.close(run_before_unload=True)  # the tab closes: Voilà stops its kernel
                server.wait_until_ready(sum(pools.values()))  # the pool is warm again
            views = server.wait_for_views()
            epci, filters = _switches(browser, server.url)
            page = _open(browser, base + "09")[1]
            # Changes chained (each as soon as the previous one's charts are all there), then
            # changes on a page left to finish drawing (the browser also renders each chart
            # to PNG after drawing it, and the kernel prepares the map's shapes).
            chained = [_change(page, label) for label in CHANGES]
            changes = []
            for label in CHANGES:
                page.wait_for_timeout(SETTLE)
                changes.append(_change(page, label))
            memory.append(server.memory().get(_kernel_id(page)))
            page.close()
            # Without preheated kernels, each page's kernel starts for its request.
            server.stop()
            server = Server.start(db, workdir / "voila-cold.log", extra=("--reserve", "0"))
            cold, page = _open(browser, server.url + PORTRAIT + "09")
            browser.close()
    finally:
        server.stop()
    load.append(os.getloadavg()[0])
    memory = [m for m in memory if m]
    fmt = lambda s: formatting.number(s, 2)  # noqa: E731
    median = lambda i: statistics.median(c[i] for c in changes)  # noqa: E731
    rows = [
        (
            "Premier graphique, noyau préchauffé (médiane de 3)",
            f"{fmt(statistics.median(preheated))} s",
            f"{fmt(TARGETS['preheated'])} s",
        ),
        (
            "Premier graphique, noyau froid (démarré pour la requête)",
            f"{fmt(cold)} s",
            f"{fmt(TARGETS['cold'])} s",
        ),
        ("Changement de territoire : chiffres clés (médiane)", f"{fmt(median(0))} s", ""),
        (
            "Vue régionale : carte passée aux EPCI",
            f"{fmt(epci)} s",
            f"{fmt(TARGETS['switch'])} s",
        ),
        (
            f"Accompagnement : filtre par type (médiane de {len(filters)})",
            f"{fmt(statistics.median(filters))} s (" + ", ".join(fmt(f) for f in filters) + ")",
            f"{fmt(TARGETS['switch'])} s",
        ),
        (
            "Changement de territoire : premier graphique (médiane)",
            f"{fmt(median(1))} s",
            f"{fmt(TARGETS['redraw'])} s",
        ),
        (
            "Changement de territoire : tous les graphiques et la carte (médiane)",
            f"{fmt(median(2))} s",
            "",
        ),
        (
            "Changements enchaînés sans pause : premier graphique (médiane)",
            f"{fmt(statistics.median(c[1] for c in chained))} s",
            "",
        ),
        (
            "Mémoire par noyau de visiteur (RSS maximal)",
            f"{formatting.number(max(m['rss'] for m in memory))} Mo",
            f"{formatting.number(TARGETS['memory'])} Mo",
        ),
        (
            "Mémoire par noyau de visiteur (PSS maximal)",
            f"{formatting.number(max(m['pss'] for m in memory))} Mo",
            f"{formatting.number(TARGETS['memory'])} Mo",
        ),
    ]
    table = "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows)
    pool = ", ".join(f"{name} : {size}" for name, size in pools.items())
    return (
        "## Tableaux de bord (Voilà, Chromium headless)\n\n"
        f"Portraits de département, chaque page dans un nouveau contexte de navigateur "
        "(rien en cache) ; changements de territoire sur une page achevée depuis "
        f"{formatting.number(SETTLE / 1000)} s, puis enchaînés sans pause ; noyaux "
        f"préchauffés par tableau de bord : {pool} ; serveur prêt "
        f"(noyaux préchauffés) en {formatting.number(warm_up)} s, calculs d'avance du serveur "
        f"(vues des portraits, cartes par EPCI) achevés {formatting.number(views)} s plus "
        "tard ; noyau froid : serveur sans noyau préchauffé (`--reserve 0`) ; "
        f"{len(memory)} noyaux de "
        "visiteurs mesurés (RSS : mémoire résidente, bibliothèques partagées comprises ; "
        "PSS : part de chaque noyau, qui s'additionne). Le navigateur tourne sur la même "
        "machine de 2 cœurs que le serveur. Charge de la machine (moyenne sur une minute) : "
        f"{formatting.number(load[0], 1)} au début, {formatting.number(load[1], 1)} à la fin.\n\n"
        "| mesure | résultat | objectif |\n| --- | --- | --- |\n" + table + "\n"
    )
