"""The « Accompagnement » and « Suivi du plan » dashboards served by a real Voilà
(``observatory serve``) in headless Chromium; what a user reads is checked against figures
computed independently (hand Lambert-93, brute-force nearest structure, the plan's CSV)."""

import re
import time

import numpy as np
import pandas as pd
import pytest
from conftest import BROWSER_TIMEOUT as TIMEOUT
from distance_helpers import communes, mainland, nearest_km, open_structures

from observatory import plan
from observatory.dashboards.common import CHARTS

pytestmark = pytest.mark.browser


def open_page(browser, url, charts):
    page = browser.new_page(viewport={"width": 1280, "height": 1400}, locale="fr-FR")
    page.goto(url, timeout=TIMEOUT)
    page.wait_for_function(
        f"document.querySelectorAll('{CHARTS}').length >= {charts}", timeout=TIMEOUT
    )
    return page


def french_int(n) -> str:
    return f"{round(n):,}".replace(",", "\u202f")


def table(page, caption: str) -> pd.DataFrame:
    """A data table of the page, as the user reads it once its fold is open."""
    rows = page.evaluate(
        """caption => {
            document.querySelectorAll('details').forEach(d => d.open = true);
            const t = [...document.querySelectorAll('table.obs-table')]
                .find(t => t.caption && t.caption.innerText.trim() === caption);
            return t ? [...t.rows].map(r => [...r.cells].map(c => c.innerText.trim())) : null;
        }""",
        caption,
    )
    assert rows, f"no table « {caption} »"
    return pd.DataFrame(rows[1:], columns=rows[0])


def least_served(wh, structure_type=None, phase=None, count=10) -> list[str]:
    """EPCI codes of Occitanie by decreasing population-weighted mean distance, by hand."""
    structures = mainland(open_structures(wh))
    if structure_type:
        structures = structures[structures["structure_type"] == structure_type]
    if phase:
        structures = structures[structures[f"phase_{phase}"]]
    occitanie = communes()
    occitanie = occitanie[occitanie["region_code"] == "76"].copy()
    occitanie["distance"] = nearest_km(occitanie, structures)
    means = occitanie.groupby("epci_code").apply(
        lambda g: np.average(g["distance"], weights=g["population"]), include_groups=False
    )
    return list(means.sort_values(ascending=False).index[:count]), occitanie


def codes_of(labels) -> list[str]:
    return [re.search(r"\((\d{9})\)$", label).group(1) for label in labels]


def test_accompagnement_shows_the_least_served_epcis_and_the_population_far_from_support(
    voila_url, browser, wh
):
    page = open_page(browser, voila_url + "/voila/render/accompagnement.ipynb", 4)
    assert page.inner_text("h1") == "Accompagnement de l'ESS dans les territoires"
    assert "Données de démonstration" in page.inner_text(".obs-demo-banner")
    assert page.inner_text("h2.obs-title") == "Accompagnement en Occitanie : toutes structures"
    expected, occitanie = least_served(wh)
    shown = table(page, "Données du graphique : Les EPCI les moins bien desservis")
    assert codes_of(shown["EPCI"]) == expected
    far = occitanie.loc[occitanie["distance"] > 30, "population"].sum()
    assert french_int(far) in page.inner_text(".obs-key-figures")
    plots = page.evaluate(
        f"() => [...document.querySelectorAll('{CHARTS}')].map(p => "
        "p.data.map(t => ({type: t.type, name: t.name || '', "
        "locations: t.locations || [], text: t.text || []})))"
    )
    traces = plots[0]
    epcis = {code for t in traces if t["type"] == "choroplethmap" for code in t["locations"]}
    assert epcis == set(occitanie["epci_code"].dropna())
    markers = " ".join(str(x) for t in traces if t["type"] == "scattermap" for x in t["text"])
    assert "Réalis" in markers and "Catalis" in markers and "Alter'Incub" in markers
    heights = page.evaluate(
        f"() => [...document.querySelectorAll('{CHARTS}')]"
        ".map(p => p.getBoundingClientRect().height)"
    )
    assert min(heights) >= 200, heights
    body = page.inner_text("body")
    assert "Traceback" not in body and "Error" not in body
    page.close()


def test_suivi_du_plan_opens_on_an_axis_and_shows_actions_progress_and_events(
    voila_url, browser, wh
):
    page = open_page(browser, voila_url + "/voila/render/suivi-plan.ipynb?axe=5", 3)
    assert page.inner_text("h1") == "Suivi du plan régional de l'ESS"
    assert "Données de démonstration" in page.inner_text(".obs-demo-banner")
    assert page.inner_text("h2.obs-title") == (
        "Axe 5 : Rapprocher l'accompagnement des territoires hors des métropoles"
    )
    actions = pd.read_csv(plan.DEMO_DIR / "plan_actions.csv", sep=";", dtype=str)
    indicators = pd.read_csv(plan.DEMO_DIR / "plan_indicateurs.csv", sep=";", dtype=str)
    events = pd.read_csv(plan.DEMO_DIR / "plan_evenements.csv", sep=";", dtype=str)
    progress = table(page, "Données du graphique : L'avancement vers les cibles")
    on_axis = indicators[indicators["action"].str.startswith("5.")]
    assert len(progress) == on_axis.groupby(["action", "indicateur"]).ngroups
    assert all(label.startswith("5.") for label in progress["Action et indicateur"])
    assert len(table(page, "La liste des actions")) == (actions["axe"] == "5").sum()
    # Every axis, through the menu.
    page.locator("select").first.select_option(label="Tous les axes")
    page.wait_for_function(
        "document.querySelector('h2.obs-title').innerText === 'Tous les axes'", timeout=60_000
    )
    cards = page.inner_text(".obs-key-figures")
    assert str(len(actions)) in cards and french_int(events["nombre"].astype(int).sum()) in cards
    by_status = table(page, "Données du graphique : Les actions par axe et par statut")
    assert len(by_status) == 7
    assert by_status["Total"].astype(int).sum() == len(actions)
    assert by_status["Réalisée"].astype(int).sum() == (actions["statut"] == "realisee").sum()
    plots = page.evaluate(
        f"() => [...document.querySelectorAll('{CHARTS}')].map(p => "
        "p.data.flatMap(t => t.locations || []))"
    )
    assert sorted(set(plots[2])) == [
        "09",
        "11",
        "12",
        "30",
        "31",
        "32",
        "34",
        "46",
        "48",
        "65",
        "66",
        "81",
        "82",
    ]
    assert len(table(page, "La liste des actions")) == len(actions)
    body = page.inner_text("body")
    assert "Traceback" not in body and "exemple de plan (Données de démonstration)" in body
    page.close()


# Last in the file: the server keeps one preheated « Accompagnement » kernel and starts the next
# one 20 s after a visitor takes it (voila.json, fill_delay); the plan's page, in between, spends
# part of that wait.
def test_accompagnement_filters_by_type_and_phase_from_the_url_and_the_menus(
    voila_url, browser, wh
):
    page = open_page(
        browser,
        voila_url + "/voila/render/accompagnement.ipynb"
        "?type=pepiniere&phase=post_creation&couleur=1",
        4,
    )
    assert "« couleur » n'est pas reconnu" in page.inner_text("body")
    assert page.inner_text("h2.obs-title") == (
        "Accompagnement en Occitanie : pépinière, phase post-création (0-3 ans)"
    )
    expected, _ = least_served(wh, "pepiniere", "post_creation")
    shown = table(page, "Données du graphique : Les EPCI les moins bien desservis")
    assert codes_of(shown["EPCI"]) == expected
    directory = table(page, "Les structures retenues")
    realis = directory[directory["Structure"].str.startswith("Réalis")]
    assert sorted(realis["Commune"]) == ["Montpellier (34172)", "Toulouse (31555)"]
    assert set(realis["Statut"]) == {"citée par un document"}
    page.locator("select").nth(1).select_option(label="Tiers-lieu")
    page.wait_for_function(
        "document.querySelector('h2.obs-title').innerText.includes('tiers-lieu')", timeout=60_000
    )
    # No tiers-lieu serves the post-creation phase: every EPCI is out of reach, and says so.
    # (The title changes first; the table follows.)
    shown = eventually(
        page,
        lambda: table(page, "Données du graphique : Les EPCI les moins bien desservis"),
        lambda t: set(t["Distance moyenne"]) == {"aucune structure accessible"},
    )
    assert set(shown["Distance moyenne"]) == {"aucune structure accessible"}
    page.locator("select").nth(2).select_option(label="Création")
    page.wait_for_function(
        "document.querySelector('h2.obs-title').innerText.endsWith('tiers-lieu, phase création')",
        timeout=60_000,
    )
    expected, _ = least_served(wh, "tiers_lieu", "creation")
    shown = eventually(
        page,
        lambda: table(page, "Données du graphique : Les EPCI les moins bien desservis"),
        lambda t: codes_of(t["EPCI"]) == expected,
    )
    assert codes_of(shown["EPCI"]) == expected
    page.close()


def eventually(page, read, ok, seconds: float = 60):
    """``read()`` again until ``ok`` of it, or ``seconds`` have passed: its last value."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            value = read()
            if ok(value):
                return value
        except AssertionError:  # the block is being drawn again: not there for a moment
            if time.monotonic() >= deadline:
                raise
        if time.monotonic() >= deadline:
            return value
        page.wait_for_timeout(500)
