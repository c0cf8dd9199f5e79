"""Several visitors at once on a real Voilà server: each gets its own portrait and its charts."""

import os
import signal
import subprocess
import time
import urllib.request

import pytest

from conftest import OBSERVATORY, ROOT, free_port

CHROMIUM = "/usr/bin/chromium"
TIMEOUT = 300_000  # ms: kernels started together on 2 cores, some of them cold
VISITORS = {"34": "Hérault", "31": "Haute-Garonne", "11": "Aude", "30": "Gard",
            "66": "Pyrénées-Orientales"}
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(warehouse_path):
    port = free_port()
    proc = subprocess.Popen(
        [*OBSERVATORY, "serve", "--port", str(port), "--db", str(warehouse_path)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/", timeout=2)
            break
        except OSError:
            time.sleep(0.5)
    yield base
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)


def test_five_simultaneous_visitors_all_get_their_portrait(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--no-sandbox", "--disable-gpu"])
        pages = {}
        for code in VISITORS:  # every request leaves before any page is drawn
            pages[code] = browser.new_page(viewport={"width": 1280, "height": 1000})
            pages[code].goto(f"{server}/voila/render/portrait.ipynb?territoire={code}",
                             wait_until="commit", timeout=TIMEOUT)
        for code, name in VISITORS.items():
            page = pages[code]
            page.wait_for_selector(".js-plotly-plot", timeout=TIMEOUT)
            assert page.inner_text("h2.obs-title").startswith(f"{name} (département {code})")
            assert "Traceback" not in page.inner_text("body")
        kernels = {page.evaluate("JSON.parse(document.getElementById('jupyter-config-data')"
                                 ".textContent).kernelId") for page in pages.values()}
        assert len(kernels) == len(VISITORS)  # one kernel per visitor
        browser.close()
