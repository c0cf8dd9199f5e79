"""Several visitors at once on a real Voilà server: each gets its own portrait and its charts.
(Timings for 5, 10 and 20 visitors are measured by ``make bench``: benchmarks/bench_load.py.)"""

import pytest

from observatory.dashboards.common import CHARTS

TIMEOUT = 300_000  # ms: kernels started together on 2 cores
VISITORS = {"34": "Hérault", "31": "Haute-Garonne", "66": "Pyrénées-Orientales"}
pytestmark = [pytest.mark.browser, pytest.mark.load]


def test_simultaneous_visitors_all_get_their_own_portrait(voila_url, browser):
    pages = {}
    for code in VISITORS:  # every request leaves before any page is drawn
        pages[code] = browser.new_page(viewport={"width": 1280, "height": 1000})
        pages[code].goto(
            f"{voila_url}/voila/render/portrait.ipynb?territoire={code}",
            wait_until="commit",
            timeout=TIMEOUT,
        )
    for code, name in VISITORS.items():
        page = pages[code]
        page.wait_for_selector(CHARTS, timeout=TIMEOUT)
        assert page.inner_text("h2.obs-title").startswith(f"{name} (département {code})")
        assert "Traceback" not in page.inner_text("body")
    kernels = {
        page.evaluate(
            "JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId"
        )
        for page in pages.values()
    }
    assert len(kernels) == len(VISITORS)  # one kernel per visitor
    for page in pages.values():
        page.close()
