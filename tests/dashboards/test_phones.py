"""Every dashboard and a static portrait as a decision-maker opens them, on a desktop (1440 px)
and on a phone (390 px), in a real Voilà and headless Chromium: nothing off-screen, no
horizontal scroll, plain French only, the demonstration label on the page and in every file
it hands out (CSV and XLSX read back, the PNG's pixels), and the slow switches made fast."""

from __future__ import annotations

import base64
import contextlib
import re
import time
from pathlib import Path

import pytest
from conftest import BROWSER_TIMEOUT as TIMEOUT
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from observatory import exports, settings
from observatory.dashboards.common import CHARTS
from observatory.publish import site

pytestmark = pytest.mark.browser

WIDTHS = (1440, 390)
# (notebook and parameters, charts drawn once the page is ready)
PAGES = [
    ("vue-regionale.ipynb", 4),
    ("portrait.ipynb?territoire=34", 4),
    ("comparaison.ipynb?territoires=34,31,34002", 1),
    ("accompagnement.ipynb", 3),
    ("suivi-plan.ipynb", 3),
]
# What no visitor may read: developer words, code names, English, broken French (issue 23).
FORBIDDEN = [
    r"observatory/",
    r"\.py\b",
    r"graine",
    r"\bissue\b",
    r"plan_axes|plan_actions|plan_indicators|plan_events",
    r"entrepôt",
    r"--level",
    r"de nature ME",
    r"\bEpci\b",
    r"rang \d+e\b",  # a rank is « 13e », never « rang 24970e »
    r"\d{4,}e\b",  # unformatted ordinal
    r"\bde [AEIOUÉÈ][a-zé]",  # « DLA de Agen », « EPCI de Occitanie »: elision missing
    r"\b1 (réalisées|fabriques|actions|structures)\b",
    r"\b[2-9]\d* réalisée\b",
    r"inconnu\(e\)|\(s\)",
    r"\bExecuting\b|\bRunning\b|\bof \d\b|\bLoading\b",
    r"\bNone\b|\bnan\b|\bNaN\b|\bTrue\b|\bFalse\b|Traceback",
    r" : \.(?!\.)",  # « par taille : . »
    r"_pct\b|_km\b|postes_salaries",
]
# Records every text Voilà's spinner shows while the page loads.
SPINNER_WATCH = """
window.__spinner = [];
new MutationObserver(() => {
  const t = document.getElementById('loading_text');
  if (t && t.textContent && !window.__spinner.includes(t.textContent))
    window.__spinner.push(t.textContent);
}).observe(document, {subtree: true, childList: true, characterData: true});
"""
# Elements that must sit inside the screen: what one reads or touches.
OFF_SCREEN = """
() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.querySelectorAll(
      'select, input, button, .js-plotly-plot, .obs-card, h1, h2, p, summary, a, table')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    const plot = el.closest('.js-plotly-plot');  // plotly's own off-canvas copy for images
    if (plot && plot.getBoundingClientRect().right < -1000) continue;
    if (el.closest('details:not([open])') && el.tagName !== 'SUMMARY') continue;
    if (r.left < -1 || r.right > width + 1)
      out.push(`${el.tagName}.${el.className} ${Math.round(r.left)}-${Math.round(r.right)}`
               + ` « ${(el.innerText || el.value || '').slice(0, 40)} »`);
  }
  return out;
}
"""


def open_page(browser, url: str, width: int, charts: int):
    page = browser.new_page(viewport={"width": width, "height": 900}, locale="fr-FR")
    page.add_init_script(SPINNER_WATCH)
    page.goto(url, timeout=TIMEOUT)
    page.wait_for_function(
        f"document.querySelectorAll('{CHARTS}').length >= {charts}", timeout=TIMEOUT
    )
    page.wait_for_timeout(500)  # plotly's last relayout
    return page


def forbidden_in(text: str) -> list[str]:
    return [m.group(0) for p in FORBIDDEN for m in re.finditer(p, text)]


def settled(page) -> list[str]:
    """What is off-screen once plotly's relayouts are done: a chart drawn before its output
    area had its width is redrawn to fit a moment later, on a busy machine more than the 0,5 s
    ``open_page`` waits (a 390-px accompaniment page once showed a 715-px-wide modebar)."""
    with contextlib.suppress(PlaywrightTimeoutError):
        page.wait_for_function(f"({OFF_SCREEN})().length === 0", timeout=30_000)
    return page.evaluate(OFF_SCREEN)


def check_layout(page, width: int) -> None:
    """No horizontal scroll, nothing off-screen, plain French once every fold is open."""
    scroll = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll <= width, f"horizontal scroll: {scroll} px wide on a {width}-px screen"
    assert settled(page) == []
    page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
    page.wait_for_timeout(200)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    text = page.inner_text("body")
    assert forbidden_in(text) == [], text[:2000]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("notebook,charts", PAGES, ids=[p[0].split(".")[0] for p in PAGES])
def test_every_dashboard_fits_the_screen_and_speaks_plain_french(
    voila_url, browser, notebook, charts, width
):
    page = open_page(browser, f"{voila_url}/voila/render/{notebook}", width, charts)
    assert settings.DEMO_LABEL in page.inner_text("body")
    spinner = page.evaluate("() => window.__spinner")
    assert all(forbidden_in(t) == [] for t in spinner), spinner
    check_layout(page, width)
    # Every chart says its data are for demonstration, in its title (so in its PNG).
    titles = page.evaluate(
        f"() => [...document.querySelectorAll('{CHARTS}')].map(p => p.layout.title.text || '')"
    )
    assert all(settings.DEMO_LABEL in t for t in titles), titles
    page.close()


OPEN_FOLDS = """a => {
    for (let d = a.closest('details'); d; d = d.parentElement?.closest('details')) d.open = true;
}"""


# Resolves once the page has not changed for a second (plotly's relayouts, blocks arriving),
# or after 20 s whatever it does.
QUIET = """() => new Promise(resolve => {
    let timer;
    const observer = new MutationObserver(wait);
    const done = () => { observer.disconnect(); resolve(true); };
    function wait() {
        clearTimeout(timer);
        timer = setTimeout(done, 1000);
    }
    observer.observe(document.body, {subtree: true, childList: true, attributes: true});
    setTimeout(done, 20000);
    wait();
})"""
PENDING = "[role=status]"  # a block still computing (common.PENDING_HTML)
CLICK_WAIT = 60_000  # ms before a click that started no download is made again


def complete(page) -> None:
    """Waits until every block of the page is drawn and the page has stopped moving."""
    page.wait_for_function(f"!document.querySelector('{PENDING}')", timeout=TIMEOUT)
    page.evaluate(QUIET)


def downloaded(page, link):
    """The file behind ``link``, its folds opened first (a block filled after the test opened
    every fold arrives folded). A click is a press and a release: when the page moves between
    them (a chart laid out again on a busy machine), the browser clicks nothing, and the
    visitor clicks again; so does this, once, and then fails naming the link."""
    link.evaluate(OPEN_FOLDS)
    for attempt in (1, 2):
        try:
            with page.expect_download(timeout=CLICK_WAIT * attempt) as info:
                link.click(timeout=TIMEOUT)
            return info.value
        except PlaywrightTimeoutError:
            if attempt == 2:
                raise AssertionError(
                    f"no download after two clicks on {link.evaluate('a => a.outerHTML')[:300]}"
                    f" (visible: {link.is_visible()}, blocks computing: "
                    f"{page.locator(PENDING).count()})"
                ) from None
            page.evaluate(QUIET)


def test_every_file_of_a_portrait_carries_its_context_and_the_demo_label(
    voila_url, browser, tmp_path
):
    page = open_page(browser, f"{voila_url}/voila/render/portrait.ipynb?territoire=34", 390, 6)
    complete(page)
    csv_links, xlsx_links = page.locator("a.obs-csv"), page.locator("a.obs-xlsx")
    assert csv_links.count() >= 4 and csv_links.count() == xlsx_links.count()
    for i in range(csv_links.count()):
        context, table = exports.read_csv(downloaded(page, csv_links.nth(i)).path())
        assert context[0].startswith(f"Avertissement : {settings.DEMO_LABEL}"), context
        assert any(line.startswith("Territoire : ") and "Hérault" in line for line in context)
        assert any(line.startswith("Source : ") for line in context), context
        assert not [c for c in table.columns if "_" in c], table.columns
        numbers = [v for v in table.to_numpy().ravel() if isinstance(v, float)]
        assert all(round(v, 2) == v for v in numbers), numbers  # no 15 decimals
        download = downloaded(page, xlsx_links.nth(i))
        path = tmp_path / download.suggested_filename
        download.save_as(path)
        assert path.suffix == ".xlsx"
        context, table = exports.read_xlsx(path)
        assert context[0].startswith(f"Avertissement : {settings.DEMO_LABEL}"), context
        from openpyxl import load_workbook

        book = load_workbook(path)
        assert book.sheetnames == [exports.SHEET, exports.DEFINITIONS_SHEET]
        formats = {
            c.number_format
            for row in book[exports.SHEET].iter_rows()
            for c in row
            if c.data_type == "n"
        }
        assert formats <= {"#,##0", "#,##0.0", "#,##0.00", '#,##0.0" %"', '#,##0" %"', "General"}
    # The PNG of a chart: the camera button's file, its title band drawn in the label's colour.
    png = downloaded(page, page.locator(".modebar-btn").first)
    data = base64.b64encode(Path(png.path()).read_bytes()).decode()
    labelled = page.evaluate(
        """async data => {
            const img = new Image();
            img.src = 'data:image/png;base64,' + data;
            await img.decode();
            const c = document.createElement('canvas');
            c.width = img.width; c.height = img.height;
            const g = c.getContext('2d');
            g.drawImage(img, 0, 0);
            const px = g.getImageData(0, 0, img.width, Math.round(img.height / 3)).data;
            let n = 0;  // pixels of the demonstration label's dark yellow (#6b5300)
            for (let i = 0; i < px.length; i += 4)
                if (Math.abs(px[i] - 0x6b) < 30 && Math.abs(px[i + 1] - 0x53) < 30
                    && px[i + 2] < 40) n++;
            return n;
        }""",
        data,
    )
    assert labelled > 200, labelled
    page.close()


# Counts the canvases encoded to an image, from the page's first script on.
COUNT_ENCODED = """
window.__encoded = 0;
const encode = HTMLCanvasElement.prototype.toDataURL;
HTMLCanvasElement.prototype.toDataURL = function () {
  window.__encoded += 1;
  return encode.apply(this, arguments);
};
"""


def test_charts_are_drawn_once_with_no_snapshot_that_no_one_keeps(voila_url, browser):
    """jupyterlab-plotly's renderer drew every chart a second time off-screen and encoded it
    to a PNG kept in the output, for notebooks saved to disk: on a change of territory, 0,6 s
    of the browser's time after the first chart (more on a phone). No page keeps it; the
    camera button's PNG (tested above) does not need it."""
    page = browser.new_page(viewport={"width": 390, "height": 900}, locale="fr-FR")
    page.add_init_script(COUNT_ENCODED)
    page.goto(f"{voila_url}/voila/render/portrait.ipynb?territoire=34", timeout=TIMEOUT)
    page.wait_for_function(f"document.querySelectorAll('{CHARTS}').length >= 6", timeout=TIMEOUT)
    page.locator(".obs-territory input").fill("Aude (département 11)")
    page.wait_for_function(
        "() => document.querySelector('h2.obs-title').innerText.startsWith('Aude')",
        timeout=TIMEOUT,
    )
    page.wait_for_timeout(3_000)  # the snapshots came once each chart was drawn
    drawn = page.evaluate(f"document.querySelectorAll('{CHARTS}').length")
    assert drawn >= 6
    assert page.evaluate("window.__encoded") == 0
    page.close()


def test_a_static_portrait_fits_a_phone(warehouse_path, browser, tmp_path):
    site.render_site(
        warehouse_path, tmp_path, [site.Page("departement", "48", "Lozère")], workers=1
    )
    for width in WIDTHS:
        page = browser.new_page(viewport={"width": width, "height": 900}, locale="fr-FR")
        page.goto((tmp_path / "departement" / "48.html").as_uri(), timeout=TIMEOUT)
        # A static page has no widgets: its charts are drawn straight into the page.
        page.wait_for_selector(".js-plotly-plot .main-svg", timeout=TIMEOUT)
        page.wait_for_timeout(1000)
        assert settings.DEMO_LABEL in page.inner_text("body")
        check_layout(page, width)
        page.close()


def timed(page, action, done: str) -> float:
    start = time.monotonic()
    action()
    page.wait_for_function(done, timeout=60_000)
    return time.monotonic() - start


def test_the_epci_map_and_an_accompaniment_filter_come_in_about_a_second(
    voila_url, browser, record_property
):
    page = open_page(browser, f"{voila_url}/voila/render/vue-regionale.ipynb", 1440, 4)
    epci = timed(
        page,
        lambda: page.get_by_role("button", name="EPCI").click(),
        f"[...document.querySelectorAll('{CHARTS}')].some(p => p.data.some("
        "t => (t.locations || []).some(c => String(c).length === 9)))",
    )
    page.close()
    page = open_page(browser, f"{voila_url}/voila/render/accompagnement.ipynb", 1440, 3)
    choice = timed(
        page,
        lambda: page.locator("select").nth(1).select_option(label="Pépinière"),
        "document.querySelector('h2.obs-title').innerText.includes('pépinière')",
    )
    record_property("epci_map_s", round(epci, 2))
    record_property("accompaniment_filter_s", round(choice, 2))
    print(f"EPCI map: {epci:.2f} s, accompaniment filter: {choice:.2f} s")
    # The filter is kept in the page's address (a link or a reload keeps it).
    page.wait_for_function("() => location.search.includes('type=pepiniere')", timeout=30_000)
    page.close()
    # The target is under 1 s (make bench); measured here at load 15-20 on 2 cores: EPCI map
    # 7,4 s, filter 3,1 s. The bound only catches the old 13-15 s.
    assert epci < 12 and choice < 12, (epci, choice)


def test_the_search_box_offers_accented_names_typed_without_accents(voila_url, browser):
    """The browser must not filter the server's suggestions again (an input's list of options
    would hide « Saint-Étienne » from « Saint-Etienne »)."""
    page = open_page(browser, f"{voila_url}/voila/render/comparaison.ipynb?territoires=34", 390, 1)
    box = page.locator("input.obs-territory, .obs-territory input").first
    for typed, expected in (("Saint-Etienne", "Saint-Étienne"), ("rochelle", "La Rochelle")):
        box.fill(typed)
        page.wait_for_function(
            "e => [...document.querySelectorAll('.obs-suggestion')].some("
            "b => b.offsetParent && b.innerText.startsWith(e))",
            arg=expected,
            timeout=60_000,
        )
    page.locator(".obs-suggestion", has_text="La Rochelle").first.click()
    page.wait_for_function(
        "() => [...document.querySelectorAll('table.obs-table th')].some("
        "t => t.textContent.startsWith('La Rochelle'))",
        timeout=60_000,
    )
    assert "Aucun territoire" not in page.inner_text("body")  # no false alert after « Ajouter »
    page.close()


WRITE_AS_THE_WIDGET_MANAGER = """async text => {
    const node = document.createElement('div');
    document.querySelector('main, body').appendChild(node);
    node.textContent = text;  // what @jupyter-widgets' renderer does in a widget's place
    await new Promise(done => setTimeout(done, 0));
    const shown = node.textContent;
    node.remove();
    return shown;
}"""


@pytest.mark.parametrize(
    "english,french",
    [
        ("Loading widget...", "Chargement…"),
        (
            "Error displaying widget: model not found",
            "Cette partie de la page n'a pas pu être affichée : rechargez la page.",
        ),
        (
            "Error displaying widget",
            "Cette partie de la page n'a pas pu être affichée : rechargez la page.",
        ),
    ],
)
def test_the_widget_managers_own_words_reach_the_visitor_in_french(
    voila_url, browser, english, french
):
    """The widget manager writes « Loading widget... » in each widget's place until it is
    drawn, and « Error displaying widget: model not found » when the browser did not get a
    widget's state (seen once under load, issue 25): a visitor reads them in French."""
    page = browser.new_page(locale="fr-FR")
    page.goto(f"{voila_url}/voila/render/portrait.ipynb?territoire=48", timeout=TIMEOUT)
    page.wait_for_selector(CHARTS, timeout=TIMEOUT)
    assert page.evaluate(WRITE_AS_THE_WIDGET_MANAGER, english) == french
    page.close()
