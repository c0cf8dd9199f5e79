"""Speed of the Voilà dashboards in headless Chromium (Playwright), against `observatory serve`.

Measures the first chart of a portrait with a preheated kernel and with a cold one (pool
exhausted), the redraw after a territory change, and the memory (RSS) of each visitor's kernel.
Targets: 3 s, 6 s, 0,5 s, 250 Mo. ``run(workdir)`` returns a Markdown section.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from observatory import formatting, settings

CHROMIUM = "/usr/bin/chromium"
TARGETS = {"preheated": 3.0, "cold": 6.0, "redraw": 0.5, "memory": 250.0}


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _kernels_rss_mb(server_pid: int) -> list[float]:
    """RSS (MB) of the kernel processes descending from the server."""
    out = subprocess.run(["ps", "-eo", "pid=,ppid=,rss=,args="], capture_output=True, text=True)
    rows = [line.split(None, 3) for line in out.stdout.splitlines() if line.strip()]
    family, grew = {server_pid}, True
    while grew:
        before = len(family)
        family |= {int(r[0]) for r in rows if int(r[1]) in family}
        grew = len(family) > before
    return [int(r[2]) / 1024 for r in rows if int(r[0]) in family and "ipykernel" in r[3]]


def _first_chart(browser, url: str) -> tuple[float, object]:
    page = browser.new_page(viewport={"width": 1280, "height": 1000}, locale="fr-FR")
    started = time.perf_counter()
    page.goto(url, timeout=180_000)
    page.wait_for_selector(".js-plotly-plot", timeout=180_000)
    return time.perf_counter() - started, page


def run(workdir) -> str:
    workdir = Path(workdir)
    db = workdir / "observatory.duckdb"
    subprocess.run([sys.executable, "-m", "observatory.cli", "build", "--db", str(db)],
                   check=True, capture_output=True)
    port = _port()
    server = subprocess.Popen(
        [sys.executable, "-m", "observatory.cli", "serve", "--port", str(port), "--db", str(db)],
        cwd=settings.PROJECT_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    base = f"http://127.0.0.1:{port}/voila/render/portrait.ipynb"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        time.sleep(20)  # let the kernel pools fill
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM,
                                        args=["--no-sandbox", "--disable-gpu"])
            preheated, pages = [], []
            for code in ("34", "31", "11"):
                seconds, page = _first_chart(browser, f"{base}?territoire={code}")
                pages.append(page)
                preheated.append(seconds)
                time.sleep(15)  # the pool refills
            _, page = _first_chart(browser, f"{base}?territoire=30")  # takes the pool's kernel
            pages.append(page)
            seconds, page = _first_chart(browser, f"{base}?territoire=66")  # pool empty: cold
            cold = [seconds]
            pages.append(page)
            redraws = []
            for label in ("Haute-Garonne (département 31)", "Aude (département 11)",
                          "Occitanie (région 76)"):
                started = time.perf_counter()
                page.locator(".obs-territory input").fill(label)
                page.wait_for_function(
                    "label => document.querySelector('h2.obs-title').innerText.startsWith("
                    "label.split(' (')[0])", arg=label, timeout=60_000)
                redraws.append(time.perf_counter() - started)
            memory = _kernels_rss_mb(server.pid)
            browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    fmt = lambda s: formatting.number(s, 2)  # noqa: E731
    rows = [
        ("Premier graphique, noyau préchauffé (médiane)", f"{fmt(statistics.median(preheated))} s",
         f"{fmt(TARGETS['preheated'])} s"),
        ("Premier graphique, noyau froid (pire cas)", f"{fmt(max(cold))} s",
         f"{fmt(TARGETS['cold'])} s"),
        ("Changement de territoire (médiane)", f"{fmt(statistics.median(redraws))} s",
         f"{fmt(TARGETS['redraw'])} s"),
        ("Mémoire par noyau de visiteur (max)", f"{formatting.number(max(memory or [0]))} Mo",
         f"{formatting.number(TARGETS['memory'])} Mo"),
    ]
    table = "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows)
    return ("## Tableaux de bord (Voilà, Chromium headless)\n\n"
            f"Portraits de département ; {len(memory)} noyaux mesurés (RSS).\n\n"
            "| mesure | résultat | objectif |\n| --- | --- | --- |\n" + table + "\n")
