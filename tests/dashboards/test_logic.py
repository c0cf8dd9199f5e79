"""Unit tests of the dashboards' logic (observatory/dashboards), on the demo warehouse."""

import base64
import itertools
import json
import os
import re
import subprocess
import sys
from html import unescape

import numpy as np
import pandas as pd
import pytest
from tiny_warehouse import build_tiny

from observatory import exports, indicators, open_warehouse
from observatory.dashboards import common, comparison, portrait
from observatory.views import blocks, charts, html, key_figures, maps, series, territory_view

pytestmark = pytest.mark.usefixtures("demo_db")  # the dashboards' warehouse (conftest)


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
    labels = maps.share_classes(pd.Series(values))
    expected = []
    for run in optimal_classes(values, 5):
        low, high = (f"{v:.1f}".replace(".", ",") + "\u202f%" for v in (run[0], run[-1]))
        expected += [low if low == high else f"{low} à {high}"] * len(run)
    assert labels.tolist() == expected


def test_search_as_you_type_finds_names_without_accents_and_codes(demo_db):
    index = common.territory_index()
    assert index.search("herault")[0] == "Hérault (département 34)"
    assert index.search("34") == ["Hérault (département 34)"]
    assert "Montpellier (commune 34172)" in index.search("montpel")
    assert index.search("zzzz") == []
    assert index.by_label["Occitanie (région 76)"] == ("region", "76")


@pytest.mark.parametrize("typed", ["La Rochelle", "Rochelle", "la rochelle", "LA ROCHELLE"])
def test_search_finds_a_name_with_or_without_its_article(demo_db, typed):
    hits = common.territory_index().search(typed)
    # The larger of the two communes named La Rochelle first (Charente-Maritime, Haute-Saône).
    assert hits[:2] == ["La Rochelle (commune 17300)", "La Rochelle (commune 70450)"]


@pytest.mark.parametrize(
    "typed, first",
    [
        ("Saint-Etienne", "Saint-Étienne (commune 42218)"),
        ("havre", "Le Havre (commune 76351)"),
        ("le puy en velay", "Le Puy-en-Velay (commune 43157)"),
        ("L’Haÿ-les-Roses", "L'Haÿ-les-Roses (commune 94038)"),
    ],
)
def test_search_ignores_accents_articles_and_apostrophes(demo_db, typed, first):
    assert common.territory_index().search(typed)[0] == first


def test_query_parameters_keep_known_names_and_report_the_others():
    params = common.query_parameters(portrait.PARAMETERS, "territoire=34&foo=%3Cb%3E&annee=2022")
    assert params.values == {"territoire": "34", "annee": "2022"}
    assert len(params.messages) == 1 and "« foo »" in params.messages[0]
    assert "<b>" not in common.message_html(["<b>"])


def test_portrait_request_is_validated_against_the_warehouse(demo_db):
    request = portrait.parse(demo_db, {"territoire": "34"})
    assert (request.territory.level, request.territory.name) == ("departement", "Hérault")
    request = portrait.parse(
        demo_db, {"territoire": "76", "niveau": "région", "annee": "2020", "reference": "FR"}
    )
    assert (request.territory.name, request.year, request.reference.level) == (
        "Occitanie",
        2020,
        "france",
    )
    request = portrait.parse(demo_db, {"territoire": "999", "annee": "1900"})
    assert request.territory.code == "76"  # the default région
    assert any("introuvable" in m for m in request.messages)
    assert any("1900" in m for m in request.messages)


def test_share_link_reopens_the_same_portrait(demo_db):
    region = indicators.resolve(demo_db, "76", "region")
    link = portrait.share_link(region, 2022, indicators.resolve(demo_db, "FR", "france"))
    values = common.query_parameters(portrait.PARAMETERS, link[1:]).values
    again = portrait.parse(demo_db, values)
    assert (again.territory, again.year, again.reference.code) == (region, 2022, "FR")


def test_key_figures_are_the_indicators_with_change_and_rank(demo_db):
    herault = indicators.resolve(demo_db, "34")
    view = territory_view.territory_view(demo_db, herault, 2022)
    cards = dict(
        (title, (value, note))
        for title, value, note in key_figures.key_figures(view.frame, herault)
    )
    expected = indicators.compute(demo_db, "departement", "34", 2022, themes=["key_figures"])
    employees = expected.set_index("indicator").loc["ess_employees", "display"]
    assert cards["Postes salariés de l'ESS"][0] == employees
    assert "rang" in cards["Postes salariés de l'ESS"][1]
    assert "Occitanie" in cards["Part de l'ESS dans l'emploi salarié"][1]
    assert [b.slug for b in view.blocks] == [
        "familles",
        "secteurs",
        "domaines",
        "tailles",
        "evolution",
        "metropoles",
        "comparaison",
    ]
    # Beside the share of all salaried employment: the share of private employment, the FTE,
    # the wage bill and the average wage per FTE, as the indicators give them.
    shown = expected.set_index("indicator")["display"]
    assert (
        cards["Part de l'ESS dans l'emploi salarié privé"][0]
        == shown["ess_share_private_employees"]
    )
    assert cards["Équivalents temps plein (ETP) de l'ESS"][0] == shown["ess_fte"]
    assert cards["Masse salariale brute de l'ESS"][0] == shown["ess_gross_wages"]
    assert cards["Salaire brut annuel moyen par ETP"][0] == shown["ess_average_wage_fte"]
    assert "France : " in cards["Part de l'ESS dans l'emploi salarié privé"][1]


def test_masked_cells_are_s_in_tables_and_absent_from_charts_and_downloads(demo_db):
    commune = indicators.resolve(demo_db, "34002", "commune")  # Adissan: 2 establishments
    view = territory_view.territory_view(demo_db, commune, 2022)
    cards = key_figures.key_figures(view.frame, commune)
    assert cards[0][1] == "s"
    fam = view.blocks[0]
    secret = view.frame[(view.frame["indicator"] == "family_employees") & view.frame["secret"]]
    assert len(secret)
    for label in secret["category_label"]:
        assert label not in list(fam.figure.data[0].y)
        row = fam.download[fam.download["famille"] == label].iloc[0]
        assert row["postes_salaries"] == "s"
        assert fam.table.set_index("Famille").loc[label, "Postes salariés"] == "s"
    trend = next(b for b in view.blocks if b.slug == "evolution").figure.data[0]
    index = view.frame[view.frame["indicator"] == "employees_index"].sort_values("year")
    assert index["secret"].any()
    assert all(pd.isna(y) for y, s in zip(trend.y, index["secret"]) if s)


def test_size_block_gives_the_share_of_establishments_by_size_from_the_warehouse(demo_db):
    herault = indicators.resolve(demo_db, "34")
    block = next(
        b
        for b in territory_view.territory_view(demo_db, herault, 2022).blocks
        if b.slug == "tailles"
    )
    counts = demo_db.sql(
        "SELECT f.size_class, sum(f.establishments) AS n FROM ess_size_facts AS f "
        "JOIN territories AS t ON t.level = 'commune' AND t.code = f.commune_code "
        "WHERE t.departement_code = '34' AND f.year = 2022 GROUP BY ALL"
    ).set_index("size_class")["n"]
    labels = dict(demo_db.sql("SELECT size_class, label FROM size_classes").itertuples(index=False))
    expected = {labels[c]: 100 * n / counts.sum() for c, n in counts.items()}
    bars = dict(zip(block.figure.data[0].y, block.figure.data[0].x))
    assert bars == pytest.approx(expected)  # a département: no size class is masked
    table = block.table.set_index("Taille (postes salariés)")
    for size_class, n in counts.items():
        assert table.loc[labels[size_class], "Établissements employeurs"] == f"{int(n):,}".replace(
            ",", "\u202f"
        )
    assert "Taille moyenne" in block.alt


def test_masked_size_classes_are_s_and_out_of_the_chart(demo_db):
    for commune in maps.children(demo_db, indicators.resolve(demo_db, "34"), "commune")[:80]:
        frame = common.compute("commune", commune.code, 2022, territory_view.THEMES, None)
        rows = frame[frame["indicator"] == "size_share_establishments"]
        if rows["secret"].any() and (~rows["secret"] & (rows["value"] > 0)).any():
            break
    else:
        pytest.fail("no commune of Hérault with masked and published size classes")
    block = blocks.sizes(frame, commune)
    masked = set(rows.loc[rows["secret"], "category_label"])
    assert masked.isdisjoint(block.figure.data[0].y)
    assert len(block.figure.data[0].y)  # the published classes are drawn
    table = block.table.set_index("Taille (postes salariés)")
    assert (table.loc[sorted(masked), "Part des établissements"] == "s").all()
    download = block.download.set_index("taille")
    assert (download.loc[sorted(masked), "part_etablissements_pct"] == "s").all()
    assert "secret statistique" in block.alt


def test_size_block_says_when_no_source_gives_sizes(tmp_path):
    with open_warehouse(build_tiny(tmp_path / "tiny.duckdb", sizes=False)) as wh:
        frame = indicators.compute(wh, "departement", "34", 2016, themes=["size"])
        block = blocks.sizes(frame, indicators.resolve(wh, "34"))
    assert block.figure is None
    assert "non disponible" in block.alt
    assert block.table.iloc[0, 0] == "16,00"  # 320 employees in 20 establishments


def test_map_table_takes_figures_from_indicators(demo_db):
    region = indicators.resolve(demo_db, "76", "region")
    data = maps.map_table(demo_db, region, "departement", 2022)
    assert len(data) == 13 and not data["secret"].any()
    herault = data.set_index("code").loc["34"]
    expected = indicators.compute(demo_db, "departement", "34", 2022, themes=["key_figures"])
    assert herault["ess_share_employees"] == pytest.approx(
        expected.set_index("indicator").loc["ess_share_employees", "value"]
    )
    block = maps.map_block(demo_db, region, "departement", 2022)
    assert set(block.figure.data[0].locations) | set(
        loc for trace in block.figure.data for loc in trace.locations
    ) == set(data["code"])


@pytest.mark.parametrize(("level", "code"), [("departement", "48"), ("departement", "2A")])
def test_the_map_of_epcis_shows_each_epcis_own_figures_and_masks(demo_db, level, code):
    """The map's table is computed for all the EPCIs at once; each row is what the EPCI's own
    portrait shows (figure, mask and words), computed one territory at a time."""
    parent = indicators.resolve(demo_db, code, level)
    data = maps._map_table(demo_db, parent, "epci", 2022).set_index("code")
    assert len(data) >= 3
    for epci in maps.children(demo_db, parent, "epci"):
        alone = indicators.compute(demo_db, "epci", epci.code, 2022, themes=["key_figures"])
        first = alone.drop_duplicates("indicator").set_index("indicator")
        row = data.loc[epci.code]
        assert row["name"] == epci.name
        assert row["secret"] == bool(first.loc["ess_share_employees", "secret"])
        assert row["share_display"] == first.loc["ess_share_employees", "display"]
        assert row["employees_display"] == first.loc["ess_employees", "display"]
        if not row["secret"]:
            assert row["ess_share_employees"] == pytest.approx(
                first.loc["ess_share_employees", "value"]
            )


def test_downloads_are_csv_and_xlsx_data_uris(demo_db):
    table = pd.DataFrame({"territoire": ["A", "B"], "valeur": [1.5, "s"]})
    links = html.downloads_html(exports.Table(table, "Essai"), "essai")
    csv_uri, xlsx_uri = re.findall(r'href="data:[^;]+;(?:charset=utf-8;)?base64,([^"]+)"', links)
    csv = base64.b64decode(csv_uri).decode("utf-8-sig")
    assert csv.splitlines()[-3:] == ["Territoire;Valeur", "A;1,5", "B;s"]
    assert csv.splitlines()[0] == "# Titre : Essai"
    _, back = exports.read_xlsx(base64.b64decode(xlsx_uri))
    assert back["Valeur"].tolist() == [1.5, "s"]


def test_comparison_parses_codes_and_sorts_with_masked_values_last(demo_db):
    territories, messages = comparison.parse_codes(demo_db, "34,region:76,34002,zz")
    assert [t.code for t in territories] == ["34", "76", "34002"]
    assert len(messages) == 1 and "zz" in messages[0]
    values, displays, secret = comparison.comparison_table(territories, 2022)
    order = comparison.sort_order(values, "ess_share_employees", False)
    assert order[-1] == "Adissan (commune 34002)"
    block = comparison.comparison_block(
        values, displays, secret, order, "ess_share_employees", 2022, "source"
    )
    assert "Adissan (commune 34002)" not in list(block.figure.data[0].y)
    assert (
        block.download.set_index("territoire").loc["Adissan (commune 34002)", "postes_salaries_ess"]
        == "s"
    )


def test_plotly_config_is_french_with_png_download():
    config = charts.plotly_config("carte")
    assert config["locale"] == "fr" and config["locales"]["fr"]["format"]["decimal"] == ","
    assert config["modeBarButtons"] == [["toImage"]]


def test_map_shapes_are_light_and_each_class_carries_only_its_own(demo_db):
    shapes = maps.light_shapes("departement")
    assert len(shapes.bounds) == 101
    minx, miny, maxx, maxy = shapes.bounds["34"]  # Hérault: about 2.5°E–4.2°E, 43.2°N–43.9°N
    assert 2.3 < minx < maxx < 4.3 and 43.1 < miny < maxy < 44.0
    coordinates = re.findall(r"-?\d+\.\d+", shapes.text["34"])
    assert coordinates and all(len(c.split(".")[1]) <= 3 for c in coordinates)
    region = indicators.resolve(demo_db, "76", "region")
    figure = maps.map_block(demo_db, region, "epci", 2022).figure
    for trace in figure.data:
        assert [f["id"] for f in trace.geojson["features"]] == list(trace.locations)


def test_dashboard_kernels_never_import_geopandas(warehouse_path):
    """A visitor's kernel reads the light shapes: geopandas, shapely and mapclassify stay out."""
    code = (
        "import sys\nfrom observatory.dashboards import common, comparison, portrait, regional\n"
        "wh = common.warehouse()\nportrait.warm_up(wh)\nregional.warm_up(wh, '76')\n"
        "comparison.warm_up(wh)\n"
        "print(sorted(m for m in ('geopandas', 'shapely', 'mapclassify', 'sklearn', 'scipy')"
        " if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "OBSERVATORY_DB": str(warehouse_path)},
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_what_a_dashboard_notebook_imports_first_leaves_pandas_and_plotly_out():
    """A kernel started for a visitor shows its page before importing pandas and plotly: the
    browser loads while they are imported and the first figures computed."""
    code = (
        "import sys\nfrom observatory.dashboards import launch\n"
        "print(sorted(m for m in ('pandas', 'plotly', 'duckdb', 'numpy') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_selector_labels_are_checked_against_the_warehouse(demo_db):
    labels = common.territory_index().by_label
    assert labels["Montpellier (commune 34172)"] == ("commune", "34172")
    assert labels["France"] == ("france", "FR")
    assert "Montpellier (commune 31555)" not in labels  # a name with another code
    assert "Hérault (département 34" not in labels and "<b>" not in labels


def test_links_follow_what_the_visitor_sees(demo_db):
    territories, _ = comparison.parse_codes(demo_db, "34,region:76,34002,243400017")
    link = comparison.share_link(territories, 2021)
    again = common.query_parameters(comparison.PARAMETERS, link[1:]).values
    assert comparison.parse_codes(demo_db, again["territoires"])[0] == territories
    assert again["annee"] == "2021"
    script = common.address_output("?territoire=34&annee=2022")["data"]["text/html"]
    assert "history.replaceState" in script and '"?territoire=34&annee=2022"' in script


def test_domains_block_shows_each_domain_with_its_naf_codes_and_hides_masked_ones(demo_db):
    lozere = indicators.resolve(demo_db, "48")
    frame = common.compute("departement", "48", 2022, territory_view.THEMES, None)
    block = blocks.domains(frame, lozere)
    rows = frame[frame["indicator"] == "domain_employees"].set_index("category_label")
    table = block.table.set_index("Domaine d'activité")
    assert set(table.index) == set(rows.index)
    assert (table["Postes salariés"] == rows.loc[table.index, "display"]).all()
    assert table.loc["Action sociale", "Codes NAF"] == "87, 88"
    assert table.loc["Associations non classées ailleurs", "Codes NAF"] == "94.99Z"
    masked = set(rows.index[rows["secret"]])
    assert masked  # the demo's Lozère has masked domains
    assert masked.isdisjoint(block.figure.data[0].y)
    assert (table.loc[sorted(masked), "Postes salariés"] == "s").all()
    download = block.download.set_index("domaine")
    assert (download.loc[sorted(masked), "postes_salaries"] == "s").all()
    drawn = dict(zip(block.figure.data[0].y, block.figure.data[0].x))
    assert drawn == {k: v for k, v in rows["value"].items() if k not in masked and v > 0}
    assert "94.99Z" in block.source and "secret statistique" in block.alt


def test_comparison_block_sets_the_territory_beside_france_and_france_de_province(demo_db):
    herault = indicators.resolve(demo_db, "34")
    frame = common.compute("departement", "34", 2022, territory_view.THEMES, None)
    block = blocks.comparison(frame, herault)
    table = block.table.set_index("Indicateur")
    assert list(table.columns) == [
        "Hérault (département 34)",
        "Occitanie (région 76)",
        "France",
        "France de province (hors Île-de-France)",
    ]
    for code, label in (("76", "Occitanie (région 76)"), ("FRP", table.columns[-1])):
        shown = frame[frame["category"] == code].set_index("indicator")["display"]
        assert (
            table.loc["Salaire brut annuel moyen par ETP", label]
            == shown["compared_average_wage_fte"]
        )
        assert (
            table.loc["Part de l'ESS dans l'emploi salarié privé", label]
            == shown["compared_ess_share_private_employees"]
        )
    own = frame[frame["category"].isna()].set_index("indicator")["display"]
    assert (
        table.loc["Masse salariale brute de l'ESS", "Hérault (département 34)"]
        == own["ess_gross_wages"]
    )
    # The chart: both shares for each of the four territories.
    assert [trace.name for trace in block.figure.data] == list(table.columns)
    assert all(len(trace.x) == 2 for trace in block.figure.data)
    assert "France entière moins la région Île-de-France" in block.source


def rank_row(value, total: int, category="france", label="France entière") -> pd.Series:
    plural = "régions" if total > 1 else "région"
    return pd.Series(
        dict(
            value=value,
            secret=False,
            note=f"sur {total} {plural}",
            category=category,
            category_label=label,
        )
    )


def test_a_rank_reads_in_french_and_a_scope_of_one_ranks_nothing():
    herault = indicators.Territory("departement", "34", "Hérault", "76", "34", None, None, 1.2e6)
    occitanie = indicators.Territory("region", "76", "Occitanie", "76", None, None, None, 6e6)
    region = indicators.Territory("region", "76", "Occitanie", "76", None, None, None, 6e6)
    assert key_figures.rank_note(rank_row(1.0, 1), region, None) is None  # « 1er sur 1 régions »
    assert (
        key_figures.rank_note(rank_row(3.0, 101), herault, occitanie)
        == "rang : 3e sur 101 départements en France"
    )
    assert (
        key_figures.rank_note(rank_row(1.0, 13, "76", "Région 76"), herault, occitanie)
        == "rang : 1er sur 13 en Occitanie"
    )
    commune = indicators.Territory("commune", "34002", "Adissan", "76", "34", None, None, 900.0)
    note = key_figures.rank_note(rank_row(24970.0, 34875), commune, None)
    assert note == "rang : 24\u202f970e sur 34\u202f875 communes en France"


def test_an_index_chart_spans_at_least_ninety_to_one_hundred_and_ten():
    assert series.index_range([[100.0, 100.8, 101.9]]) == [90.0, 110.0]
    low, high = series.index_range([[100.0, 80.0, 130.0]])
    assert low < 80 and high > 130


def test_plan_counts_agree_in_number():
    from observatory.dashboards import plan as plan_page

    assert plan_page.status_counted("realisee", 1) == "1 réalisée"
    assert plan_page.status_counted("realisee", 3) == "3 réalisées"
    assert plan_page.with_unit(1, "fabriques") == "1 fabrique"
    assert plan_page.with_unit(4, "fabriques") == "4 fabriques"
    assert plan_page.with_unit(65, "%") == "65\u202f%"


def test_a_block_with_nothing_to_draw_says_so_in_one_sentence(demo_db):
    """A commune with almost no ESS: each block draws something or says, in one sentence,
    that there is nothing to show; never an empty chart or « par taille : . »."""
    year = demo_db.years()[-1]
    fewest = demo_db.sql(
        "SELECT commune_code AS code, count(*) AS n FROM ess_facts WHERE year = $y "
        "GROUP BY 1 ORDER BY n, code LIMIT 1",
        dict(y=year),
    )["code"][0]
    territory = indicators.resolve(demo_db, fewest, "commune")
    frame = common.compute("commune", fewest, year, territory_view.THEMES)
    built = [step() for step in territory_view.block_steps(demo_db, territory, frame, None)]
    assert built
    for block in built:
        if block.empty:
            assert block.empty.startswith("Rien à montrer ici pour ")
            outputs = blocks.block_outputs(block, "essai")
            assert len(outputs) == 1 and "obs-empty" in str(outputs[0])
        else:
            assert blocks.drawn(block.figure), block.title
            assert " : ." not in block.alt and "( )" not in block.alt
    assert any(b.empty for b in built), [b.title for b in built]


def test_the_comparison_draws_the_observatorys_own_figures(demo_db):
    """The columns with the growth's period once made the table ask for published figures
    only: every cell « n.d. » and no chart."""
    territories, _ = comparison.parse_codes(demo_db, "34,31")
    year = demo_db.years()[-1]
    shown = comparison.outputs(demo_db, territories, year, "name", True)
    charts = [o for o in shown if "application/vnd.plotly.v1+json" in o["data"]]
    assert len(charts) == 1
    herault = indicators.compute(demo_db, "departement", "34", year, themes=["key_figures"])
    share = herault[(herault["indicator"] == "ess_share_employees")]["display"].iloc[0]
    assert share in shown[0]["data"]["text/html"]
    assert "valeur la plus élevée" in shown[0]["data"]["text/html"]


def test_the_comparison_shows_private_share_fte_and_wage_per_fte(demo_db):
    """The figures of published observatory notes, territory by territory, as the portrait
    computes them."""
    territories, _ = comparison.parse_codes(demo_db, "34,31")
    year = demo_db.years()[-1]
    outputs = comparison.outputs(demo_db, territories, year, "name", True)
    shown = unescape(json.dumps(outputs, ensure_ascii=False))
    herault = indicators.compute(demo_db, "departement", "34", year, themes=["key_figures"])
    whole = herault[herault["category"].isna()].set_index("indicator")["display"]
    for code, heading in (
        ("ess_share_private_employees", "Part de l'ESS dans l'emploi salarié privé"),
        ("ess_fte", "Équivalents temps plein de l'ESS"),
        ("ess_average_wage_fte", "Rémunération brute annuelle par ETP dans l'ESS"),
    ):
        assert heading in shown, heading
        assert whole[code] in shown, (code, whole[code])
