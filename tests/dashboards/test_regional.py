"""The regional overview: its logic, and the real page served by Voilà in headless Chromium."""

import itertools
import os
import signal
import subprocess
import time
import urllib.request

import numpy as np
import pandas as pd
import pytest

from conftest import OBSERVATORY, ROOT, free_port
from observatory.dashboards import regional

OCCITANIE = {"09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82"}
CHROMIUM = "/usr/bin/chromium"


def french_int(n: int) -> str:
    return f"{n:,}".replace(",", "\u202f")


def optimal_classes(values, k):
    """Brute force: the partition of sorted values into k runs with least within-class variance."""
    best = None
    for cuts in itertools.combinations(range(1, len(values)), k - 1):
        runs = [values[a:b] for a, b in zip((0, *cuts), (*cuts, len(values)))]
        cost = sum(((r - r.mean()) ** 2).sum() for r in map(np.array, runs))
        if best is None or cost < best[0]:
            best = (cost, runs)
    return best[1]


def test_share_classes_are_the_optimal_fisher_jenks_classes_in_french():
    values = [8.8, 11.2, 11.9, 12.8, 13.3, 13.5, 13.9, 14.0, 14.3, 15.7, 16.8, 17.3, 27.9]
    labels = regional.share_classes(pd.Series(values))
    expected = []
    for run in optimal_classes(values, 5):
        low, high = (f"{v:.1f}".replace(".", ",") + "\u202f%" for v in (run[0], run[-1]))
        expected += [low if low == high else f"{low} à {high}"] * len(run)
    assert labels.tolist() == expected
    assert labels.iloc[-1] == "27,9\u202f%"  # Lozère stands alone


def test_key_figures_are_the_regions_and_in_french(wh):
    figures = regional.region_figures(wh, "76", 2022)
    expected = wh.sql(
        "SELECT sum(f.employees) AS e, sum(f.establishments) AS n FROM ess_facts f "
        "JOIN territories t ON t.level = 'commune' AND t.code = f.commune_code "
        "WHERE t.region_code = '76' AND f.year = 2022"
    ).iloc[0]
    assert figures["region"]["ess_employees"] == expected.e
    html = regional.key_figures_html(figures, "Occitanie", 2022)
    assert french_int(int(expected.e)) in html and french_int(int(expected.n)) in html


def test_unknown_region_is_refused(wh):
    with pytest.raises(ValueError, match="unknown région"):
        regional.region_figures(wh, "99", 2022)


@pytest.fixture(scope="module")
def voila_url(warehouse_path):
    port = free_port()
    proc = subprocess.Popen(
        [*OBSERVATORY, "serve", "--port", str(port), "--db", str(warehouse_path)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        env={**os.environ},
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("Voilà did not start within 60 s")
    yield base
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield browser
        browser.close()


@pytest.mark.browser
def test_regional_overview_renders_in_a_browser(voila_url, browser, wh, tmp_path_factory):
    page = browser.new_page(viewport={"width": 1280, "height": 1600}, locale="fr-FR")
    page.goto(voila_url + "/voila/render/vue-regionale.ipynb", timeout=120_000)
    page.wait_for_selector(".js-plotly-plot", timeout=120_000)
    page.wait_for_function("document.querySelector('.js-plotly-plot').data !== undefined")
    shot = tmp_path_factory.mktemp("screens") / "vue-regionale.png"
    page.screenshot(path=str(shot), full_page=True)

    assert "Données de démonstration" in page.inner_text(".obs-demo-banner")
    year = wh.years()[-1]
    assert page.inner_text("h1") == f"L'ESS en Occitanie ({year})"
    employees = wh.sql(
        "SELECT sum(f.employees) AS e FROM ess_facts f JOIN territories t "
        "ON t.level = 'commune' AND t.code = f.commune_code "
        "WHERE t.region_code = '76' AND f.year = $y", dict(y=year)
    )["e"].iloc[0]
    assert french_int(int(employees)) in page.inner_text(".obs-key-figures")

    locations = page.evaluate(
        "() => document.querySelector('.js-plotly-plot').data.flatMap(t => t.locations)"
    )
    assert set(locations) == OCCITANIE
    assert page.locator("table.obs-table tbody tr").count() == 13
    body = page.inner_text("body")
    assert "Traceback" not in body and "Error" not in body
    page.close()
