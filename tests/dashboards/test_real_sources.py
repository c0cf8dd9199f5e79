"""The dashboards' logic (no browser) on warehouses of real sources: each source alone, and
SIRENE estimates beside a CRESS's published figures."""

from __future__ import annotations

import json
from html import unescape

import pytest
from real_sources import (
    CRESS_EXAMPLE,
    SOURCES,
    cress_file,
    dashboards_on,
    sirene_files,
    warehouse_with,
)

from observatory import indicators
from observatory.dashboards import comparison, portrait, regional
from observatory.views import frames, key_figures, territory_view


def outputs_text(widget) -> str:
    """Everything an output widget shows, as text (HTML and plotly JSON)."""
    return json.dumps([output["data"] for output in widget.outputs], ensure_ascii=False)


def page_text(page) -> str:
    widgets = [page.header, *page.charts, page.maps] if hasattr(page, "header") else []
    widgets += [getattr(page, name) for name in ("content", "map_output") if hasattr(page, name)]
    widgets += list(getattr(page, "charts", []))
    return "".join(outputs_text(w) for w in widgets)


@pytest.mark.parametrize("source", SOURCES)
def test_every_dashboard_works_with_one_real_source(one_source_warehouses, source):
    with dashboards_on(one_source_warehouses[source]) as wh:
        herault = indicators.resolve(wh, "34")
        for year in [None, *indicators.years(wh)]:
            page = portrait.PortraitPage(wh, portrait.Request(herault, year, None))
            page.update()  # outside Voilà: every block at once
            text = page_text(page)
            assert "Hérault" in text
            assert "n'a pas pu être calculé" not in text  # no block failed
        overview = regional.RegionalPage(wh, "76", None)
        overview.update()
        assert "n'a pas pu être calculé" not in page_text(overview)
        compared = comparison.ComparisonPage(wh, comparison.default_territories(wh), None)
        compared.update()  # published figures of the régions alone: one sentence says so
        shown = outputs_text(compared.content)
        assert "Territoires comparés" in shown or "rien à comparer" in shown
        portrait.warm_up(wh)
        regional.warm_up(wh, "76")
        comparison.warm_up(wh)


def test_a_portrait_of_the_itdd_alone_shows_insee_share_and_source(one_source_warehouses):
    with dashboards_on(one_source_warehouses["insee"]) as wh:
        herault = indicators.resolve(wh, "34")
        view = territory_view.territory_view(wh, herault, 2014)
        cards = {
            title: (value, note)
            for title, value, note in key_figures.key_figures(view.frame, herault)
        }
        value, note = cards["Part de l'ESS dans l'emploi salarié (chiffre publié par l'INSEE)"]
        assert value == "11,2\u202f%"
        assert note.startswith("INSEE, Clap 2014, Indicateurs territoriaux")
        assert cards["Postes salariés de l'ESS"][0] == "n.d."
        assert [b.slug for b in view.blocks] == ["chiffres-publies"]  # no SIRENE block to draw
        block = view.blocks[0]
        table = block.table.set_index("Année")
        assert table.loc["2014", "Valeur publiée"] == "11,2\u202f%"
        assert table.loc["2008", "Valeur publiée"] == "11,4\u202f%"
        assert "INSEE, Clap 2014" in block.source and "« s »" in unescape(block.source)
        line = block.figure.data[0]
        assert list(line.x) == [2008, 2014] and list(line.text) == ["11,4\u202f%", "11,2\u202f%"]
        page = portrait.PortraitPage(wh, portrait.Request(herault, 2014, None))
        page.update()
        assert not page.maps.outputs  # no map without ESS facts
        assert "Les chiffres publiés" in outputs_text(page.charts[0])


@pytest.fixture(scope="module")
def sirene_and_cress(empty_warehouse_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("sirene-cress-pages")
    db = warehouse_with(
        empty_warehouse_path, folder, [*sirene_files(folder), cress_file(folder, CRESS_EXAMPLE)]
    )
    with dashboards_on(db) as wh:
        yield wh


def test_sirene_estimates_are_labelled_in_every_block(sirene_and_cress):
    wh = sirene_and_cress
    herault = indicators.resolve(wh, "34")
    view = territory_view.territory_view(wh, herault, 2023)
    titles = [title for title, _, _ in key_figures.key_figures(view.frame, herault)]
    assert "Postes salariés de l'ESS (estimation)" in titles
    assert "Part de l'ESS dans l'emploi salarié (estimation)" in titles
    html = unescape(key_figures.key_figures_html(view.frame, herault))
    assert "estimation d'après le répertoire SIRENE (INSEE), stock de 2023" in html
    families = view.blocks[0]
    assert "Postes salariés (estimation)" in families.table.columns
    assert "(estimation)" in families.figure.layout.title.text
    for block in view.blocks[:-1]:
        source = unescape(block.source)
        assert "estimation d'après le répertoire SIRENE" in source, block.slug
        assert "série Flores" not in source and "Clap / Flores" not in source
    trends = next(b for b in view.blocks if b.slug == "evolution")
    assert not trends.figure.layout.shapes  # no Clap / Flores break in SIRENE's series
    # SIRENE gives neither FTE nor wages: « n.d. » and why, never 0.
    cards = {
        title: (value, note) for title, value, note in key_figures.key_figures(view.frame, herault)
    }
    for title in (
        "Équivalents temps plein (ETP) de l'ESS",
        "Masse salariale brute de l'ESS",
        "Salaire brut annuel moyen par ETP",
    ):
        assert cards[title][0] == "n.d." and "ne donne pas" in cards[title][1], title
    assert cards["Part de l'ESS dans l'emploi salarié privé (estimation)"][0].endswith("%")
    compared = next(b for b in view.blocks if b.slug == "comparaison").table
    rows = compared.set_index("Indicateur")
    assert list(rows.columns) == [
        "Hérault (département 34)",
        "Occitanie (région 76)",
        "France",
        "France de province (hors Île-de-France)",
    ]
    for row in ("Équivalents temps plein (ETP) de l'ESS", "Salaire brut annuel moyen par ETP"):
        assert (rows.loc[row] == "n.d.").all(), row
    assert (rows.loc["Postes salariés de l'ESS"] != "n.d.").all()


def test_the_comparison_leaves_out_what_sirene_does_not_give(sirene_and_cress):
    """FTE and wages: a column of « n.d. » alone says nothing; the private share stays."""
    wh = sirene_and_cress
    territories, _ = comparison.parse_codes(wh, "34,31")
    outputs = comparison.outputs(wh, territories, 2023, "name", True)
    shown = unescape(json.dumps(outputs, ensure_ascii=False))
    assert "Part de l'ESS dans l'emploi salarié privé" in shown
    assert "Postes salariés de l'ESS" in shown
    for heading in ("Équivalents temps plein de l'ESS", "Rémunération brute annuelle par ETP"):
        assert heading not in shown, heading


def test_sirene_estimate_and_cress_figure_side_by_side(sirene_and_cress):
    wh = sirene_and_cress
    herault = indicators.resolve(wh, "34")
    view = territory_view.territory_view(wh, herault, 2023)
    assert [b.slug for b in view.blocks][-1] == "chiffres-publies"
    published = view.blocks[-1]
    table = published.table.set_index("Chiffre publié")
    row = table.loc["Établissements employeurs de l'ESS (chiffre de la CRESS)"]
    assert row["Valeur publiée"] == "9\u202f000"
    assert row["Estimation d'après SIRENE, 2023"] == "9"  # beside it, not added to it
    assert row["Source"] == "CRESS, chiffres de la CRESS, 2023 (cress.csv)"
    names = [trace.name for trace in published.figure.data]
    assert names[0] == "Ensemble de l'ESS"
    assert names[1].startswith("Estimation d'après SIRENE")
    cards = {title: value for title, value, _ in key_figures.key_figures(view.frame, herault)}
    assert cards["Établissements employeurs de l'ESS"] == "9"
    assert cards["Établissements employeurs de l'ESS (chiffre de la CRESS)"] == "9\u202f000"
    download = published.download.set_index("indicateur")
    assert download.loc["cress_employees", "valeur"] == 98_000
    assert frames.row(view.frame, "ess_employees")["value"] == 219  # SIRENE's own, unchanged
