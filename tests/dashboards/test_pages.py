"""The three dashboards served by a real Voilà (``observatory serve``) in headless Chromium."""

import urllib.error
import urllib.request

import pytest
from conftest import BROWSER_TIMEOUT as TIMEOUT

from observatory import exports, indicators, settings
from observatory.dashboards.common import CHARTS

pytestmark = pytest.mark.browser


def french_int(n) -> str:
    return f"{int(n):,}".replace(",", "\u202f")


@pytest.fixture(scope="module")
def screens(tmp_path_factory):
    return tmp_path_factory.mktemp("screens")


def open_page(browser, url):
    page = browser.new_page(viewport={"width": 1280, "height": 1400}, locale="fr-FR")
    page.goto(url, timeout=TIMEOUT)
    page.wait_for_selector(CHARTS, timeout=TIMEOUT)
    return page


def ess_employees(wh, column, code, year):
    """ESS employees summed from the facts, independently of the dashboards."""
    return wh.sql(
        f"SELECT sum(f.employees) AS e FROM ess_facts f JOIN territories t ON t.level = 'commune' "
        f"AND t.code = f.commune_code WHERE t.{column} = $code AND f.year = $y",
        dict(code=code, y=year),
    )["e"].iloc[0]


def test_regional_overview_renders_its_charts(voila_url, browser, wh, screens):
    page = open_page(browser, voila_url + "/voila/render/vue-regionale.ipynb")
    page.wait_for_function(f"document.querySelectorAll('{CHARTS}').length >= 5", timeout=TIMEOUT)
    year = wh.years()[-1]
    assert page.inner_text("h1") == f"L'ESS en Occitanie ({year})"
    assert "Données de démonstration" in page.inner_text(".obs-demo-banner")
    assert french_int(ess_employees(wh, "region_code", "76", year)) in page.inner_text(
        ".obs-key-figures"
    )
    locations = page.evaluate(
        f"() => [...document.querySelectorAll('{CHARTS}')]"
        ".flatMap(p => p.data.flatMap(t => t.locations || []))"
    )
    assert len(set(locations)) == 13
    # Every chart, the map included, is actually visible (a map of height 0 once passed the data check).
    heights = page.evaluate(
        f"() => [...document.querySelectorAll('{CHARTS}')]"
        ".map(p => p.getBoundingClientRect().height)"
    )
    assert min(heights) >= 200, heights
    page.screenshot(path=str(screens / "vue-regionale.png"), full_page=True)
    body = page.inner_text("body")
    assert "Traceback" not in body and "Error" not in body
    page.close()


def test_portrait_url_opens_herault_and_selector_changes_territory(voila_url, browser, wh, screens):
    page = open_page(browser, voila_url + "/voila/render/portrait.ipynb?territoire=34")
    year = wh.years()[-1]
    assert page.inner_text("h2.obs-title") == f"Hérault (département 34), {year}"
    figures = page.inner_text(".obs-key-figures")
    assert french_int(ess_employees(wh, "departement_code", "34", year)) in figures
    page.wait_for_function(
        f"document.querySelectorAll('{CHARTS}').length >= 6", timeout=TIMEOUT
    )  # five blocks and the map
    # The empty plot that loads plotly.js early (among the cell's own outputs, outside the
    # widgets) takes no room. (The renderer's off-screen copies of each chart, made for its
    # PNG snapshot and appended to the body for a moment, are not among the cell's outputs.)
    loader_heights = page.evaluate(
        "() => [...document.querySelectorAll('.jp-Cell-outputArea > .jp-OutputArea-child')]"
        ".filter(c => c.querySelector(':scope > .jp-RenderedPlotly'))"
        ".map(c => c.getBoundingClientRect().height)"
    )
    assert loader_heights == [0]
    page.screenshot(path=str(screens / "portrait.png"), full_page=True)
    selector = page.locator(".obs-territory input")
    selector.fill("Haute-Garonne (département 31)")
    page.wait_for_function(
        "document.querySelector('h2.obs-title').innerText.startsWith('Haute-Garonne')",
        timeout=30_000,
    )
    assert french_int(ess_employees(wh, "departement_code", "31", year)) in page.inner_text(
        ".obs-key-figures"
    )
    # The address follows the visitor, so that a copied link opens the same portrait.
    page.wait_for_url(f"**/portrait.ipynb?territoire=31&annee={year}", timeout=60_000)
    page.close()


def test_a_visitor_browser_asks_only_the_observatory_and_gets_plotly_once_preloaded(
    voila_url, browser
):
    page = browser.new_page(viewport={"width": 1280, "height": 1400}, locale="fr-FR")
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(voila_url + "/voila/render/portrait.ipynb?territoire=11", timeout=TIMEOUT)
    page.wait_for_selector(CHARTS, timeout=TIMEOUT)
    # Nothing from a CDN or any other site: the page works offline and tells nobody else.
    assert [
        url for url in requested if not url.startswith((voila_url + "/", "data:", "blob:"))
    ] == []
    # plotly.js (the largest script by far) is fetched once, by the preload in the page's head.
    plotly = page.evaluate(
        "performance.getEntriesByType('resource').filter(e => "
        "e.name.includes('/jupyterlab-plotly/static/') && "
        "!e.name.includes('remoteEntry')).map(e => [e.initiatorType, "
        "e.encodedBodySize])"
    )
    assert len(plotly) == 1 and plotly[0][0] == "link" and plotly[0][1] > 4_000_000, plotly
    assert (
        len(
            [
                url
                for url in requested
                if "/jupyterlab-plotly/static/" in url and "remoteEntry" not in url
            ]
        )
        == 1
    )
    page.close()


def test_unknown_parameters_get_a_friendly_message(voila_url, browser):
    page = open_page(browser, voila_url + "/voila/render/portrait.ipynb?territoire=999&couleur=1")
    messages = page.inner_text("body")
    assert "Territoire demandé non trouvé" in messages
    assert "« couleur » n'est pas reconnu" in messages
    assert "Traceback" not in messages
    page.close()


def test_masked_cell_is_shown_as_s_and_download_matches(voila_url, browser, wh):
    page = open_page(browser, voila_url + "/voila/render/portrait.ipynb?territoire=34002")
    card = page.locator(".obs-card-value").first.inner_text()
    assert card == "s"
    assert "secret statistique" in page.inner_text("body")
    page.close()
    # A commune whose families chart draws some families and masks others (in Adissan, every
    # family is masked: its block says so in one sentence, with no file to download).
    for code in ("34032", "34172", "48095"):
        expected = indicators.compute(wh, "commune", code, None, themes=["families"])
        expected = expected[expected["indicator"] == "family_employees"]
        if expected["secret"].any() and (~expected["secret"] & (expected["value"] > 0)).any():
            break
    else:
        pytest.fail("no commune with masked and shown families in the demo")
    page = open_page(browser, voila_url + f"/voila/render/portrait.ipynb?territoire={code}")
    page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
    with page.expect_download() as info:
        page.locator('a.obs-csv[download^="familles-"]').first.click()
    context, download = exports.read_csv(info.value.path())
    assert context[0].startswith(f"Avertissement : {settings.DEMO_LABEL}")
    got = download.set_index("Famille")["Postes salariés"]
    for _, row in expected.iterrows():
        if row["secret"]:
            assert got[row["category_label"]] == "s"
        else:
            assert got[row["category_label"]] == row["value"]
    page.close()


def test_comparison_renders_a_sortable_table_and_chart(voila_url, browser, screens):
    page = open_page(browser, voila_url + "/voila/render/comparaison.ipynb?territoires=34,31,34002")
    page.evaluate("() => document.querySelectorAll('details').forEach(d => d.open = true)")
    table = page.inner_text("table.obs-table")
    assert "Hérault (département 34)" in table and "Haute-Garonne (département 31)" in table
    rows = page.locator("table.obs-table tbody tr")
    assert rows.count() == 3 and "Adissan" in rows.nth(2).inner_text()  # masked values last
    assert "\ts\t" in rows.nth(2).inner_text() + "\t"
    page.screenshot(path=str(screens / "comparaison.png"), full_page=True)
    page.close()


@pytest.mark.parametrize(
    "path",
    [
        "/voila/files/portrait.ipynb",
        "/voila/files/../voila.json",
        "/voila/files/../observatory/cli.py",
        "/voila/files/../data/observatory.duckdb",
    ],
)
def test_files_outside_the_allow_list_are_refused(voila_url, path):
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(voila_url + path, timeout=10)
    assert error.value.code in (403, 404)
