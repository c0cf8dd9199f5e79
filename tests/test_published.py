"""Published figures (INSEE, Urssaf, a CRESS) in portraits, beside the SIRENE estimates, each
with its own source, and a portrait for a warehouse holding any one real source."""

from __future__ import annotations

import json
import warnings

import pandas as pd
import pytest
from conftest import run_cli, run_clis
from real_sources import (
    CRESS_EXAMPLE,
    CRESS_SECRET,
    ITDD,
    SIRENE_ESS_EMPLOYEES,
    SIRENE_ESS_ESTABLISHMENTS,
    SOURCES,
    URSSAF_ROWS,
    cress_file,
    sirene_files,
    warehouse_with,
)

from observatory import indicators, open_warehouse, secrecy
from observatory.publish import portrait


def itdd_share(code: str, year: int) -> float:
    """ESS share of salaried employment of a département in INSEE's workbook, read by hand:
    sheet Economie, second block (départements), the measure's column for the year."""
    sheet = pd.read_excel(ITDD, sheet_name="Economie", header=None, dtype=object)
    label = "Poids de l'économie sociale dans les emplois salariés du territoire (%)"
    column = next(c for c in sheet.columns if (sheet[c] == label).any())
    heads = sheet.index[sheet[1] == "Année"]
    departements = heads[1]
    if int(sheet.at[departements, column]) != year:
        column += 1
    assert int(sheet.at[departements, column]) == year
    rows = sheet.loc[departements + 1 :]
    return float(rows.loc[rows[0].astype(str) == code, column].iloc[0])


@pytest.fixture(scope="module")
def one_source(one_source_warehouses) -> dict:
    return one_source_warehouses


@pytest.fixture(scope="module")
def itdd_db(one_source):
    return one_source["insee"]


def rows_of(document: dict, indicator: str) -> list[dict]:
    return [r for r in document["indicateurs"] if r["indicateur"] == indicator]


def test_portrait_2014_of_herault_shows_insee_share_with_insee_as_source(itdd_db, tmp_path):
    """The issue's case: a warehouse holding only the ITDD workbook."""
    target = tmp_path / "x.json"
    with_year, default = run_clis(
        ["portrait", "34", "--year", "2014", "--output", str(target), "--db", str(itdd_db)],
        ["portrait", "34", "--db", str(itdd_db)],
    )
    assert with_year.returncode == 0, with_year.stderr
    assert default.returncode == 0, default.stderr
    document = json.loads(target.read_text(encoding="utf-8"))
    share = [r for r in rows_of(document, "insee_ess_share_employees") if r["annee"] == 2014]
    assert len(share) == 1
    expected = itdd_share("34", 2014)
    assert share[0]["valeur"] == pytest.approx(expected)
    assert share[0]["affichage"] == f"{expected:.1f}".replace(".", ",") + "\u202f%" == "11,2\u202f%"
    assert share[0]["source"] == (
        "INSEE, Clap 2014, Indicateurs territoriaux de développement durable "
        "(ITDD-DonneesDetaillees.xls)"
    )
    assert document["annee"] == 2014 and document["avertissement"] is None
    # The observatory's own figures: none loaded for 2014, « n.d. » and no source claimed.
    own = rows_of(document, "ess_employees")[0]
    assert own["affichage"] == "n.d." and own["valeur"] is None
    assert own["source"] == "aucune source chargée pour cette année"
    assert json.loads(default.stdout)["annee"] == 2014  # the latest year published


def test_a_year_no_source_gives_is_refused_clearly(itdd_db):
    with open_warehouse(itdd_db) as wh:
        assert indicators.years(wh) == [2008, 2014]
        with pytest.raises(indicators.YearError, match=r"2020 non disponible.*\(2008, 2014\)"):
            indicators.compute(wh, "departement", "34", 2020)


@pytest.mark.parametrize("source", SOURCES)
def test_a_warehouse_with_one_real_source_gives_working_portraits(one_source, source, tmp_path):
    db = one_source[source]
    target = tmp_path / "34.json"
    result = run_cli("portrait", "34", "--output", str(target), "--db", str(db))
    assert result.returncode == 0, result.stderr
    with open_warehouse(db) as wh:  # every level, as the site and the dashboards ask
        for level, code in (
            ("france", "FR"),
            ("region", "76"),
            ("epci", "243400017"),
            ("commune", "34172"),
        ):
            frame = indicators.compute(wh, level, code, None)
            assert frame["display"].notna().all() and (frame["display"] != "").all()
    document = json.loads(target.read_text(encoding="utf-8"))
    found = {r["indicateur"] for r in document["indicateurs"]}
    one_year = {"employees_annual_change", "establishments_annual_change"}  # no year before
    assert set(indicators.REGISTRY) - one_year <= found <= set(indicators.REGISTRY)
    by_code = {r["indicateur"]: r for r in document["indicateurs"] if r["categorie"] is None}
    unknown = [r for r in document["indicateurs"] if not r["disponible"]]
    assert all(r["affichage"] == "n.d." and r["valeur"] is None for r in unknown)
    if source == "sirene":
        assert by_code["ess_establishments"]["valeur"] == SIRENE_ESS_ESTABLISHMENTS
    else:
        assert by_code["ess_employees"]["affichage"] == "n.d."


def test_sirene_figures_name_their_source_and_leave_fte_and_wages_unknown(one_source, tmp_path):
    with open_warehouse(one_source["sirene"]) as wh:
        frame = indicators.compute(wh, "departement", "34", None)
    portrait.write(frame, tmp_path / "herault.xlsx")
    definitions = pd.read_excel(tmp_path / "herault.xlsx", sheet_name="Définitions")
    sources = definitions.set_index("indicateur")["source"]
    assert sources["ess_employees"].startswith("estimation d'après le répertoire SIRENE")
    assert frame.attrs["year"] == 2023 and frame.attrs["estimate"]
    own = frame[frame["theme"] != "published"]
    assert (
        own["source"]
        .str.startswith(
            "estimation d'après le répertoire SIRENE (INSEE), stock de 2023 ; effectifs estimés au "
            "milieu des tranches d'effectif"
        )
        .all()
    )
    assert not own["source"].str.contains("Clap|Flores").any()
    by_code = frame[frame["category"].isna()].set_index("indicator")
    assert by_code.loc["ess_employees", "value"] == SIRENE_ESS_EMPLOYEES == 219
    for code in (
        "ess_fte",
        "ess_gross_wages",
        "ess_share_fte",
        "ess_share_gross_wages",
        "ess_average_wage_fte",
    ):
        assert by_code.loc[code, "display"] == "n.d.", code
        assert pd.isna(by_code.loc[code, "value"]) and not by_code.loc[code, "available"]
    families = frame[
        frame["indicator"].isin(
            [
                "family_fte",
                "family_gross_wages",
                "compared_ess_fte",
                "compared_ess_gross_wages",
                "compared_average_wage_fte",
            ]
        )
    ]
    assert (families["display"] == "n.d.").all() and families["value"].isna().all()
    assert set(families["category"].dropna()) >= {"76", "FR", "FRP"}


@pytest.fixture(scope="module")
def sirene_and_cress(empty_warehouse_path, tmp_path_factory) -> object:
    """SIRENE 2023 and the CRESS's own 2023 figures for the same territories."""
    folder = tmp_path_factory.mktemp("sirene-cress")
    files = [*sirene_files(folder), cress_file(folder, CRESS_EXAMPLE)]
    return warehouse_with(empty_warehouse_path, folder, files)


def test_sirene_estimates_and_cress_figures_are_side_by_side_never_summed(sirene_and_cress):
    with open_warehouse(sirene_and_cress) as wh:
        frame = indicators.compute(wh, "departement", "34", 2023)
    whole = frame[frame["category"].isna()].set_index("indicator")
    assert whole.loc["ess_establishments", "value"] == SIRENE_ESS_ESTABLISHMENTS
    assert whole.loc["ess_employees", "value"] == SIRENE_ESS_EMPLOYEES
    assert whole.loc["cress_establishments", "value"] == 9_000
    assert whole.loc["cress_employees", "value"] == 98_000
    assert (
        whole.loc["cress_establishments", "source"]
        == "CRESS, chiffres de la CRESS, 2023 (cress.csv)"
    )
    assert whole.loc["ess_establishments", "source"].startswith("estimation d'après le répertoire")
    assert whole.loc["cress_establishments", "year"] == whole.loc["ess_establishments", "year"]


def test_urssaf_series_by_family_and_sector_over_the_years(one_source):
    with open_warehouse(one_source["urssaf"]) as wh:
        frame = indicators.compute(wh, "region", "76", 2022, themes=["published"])
    employees = frame[frame["indicator"] == "urssaf_average_employees"]
    got = {
        (r.year, r.category if isinstance(r.category, str) else None): r.value
        for r in employees.itertuples()
    }
    families = {"Total": None, "Associations": "ASSO", "Coopératives": "COOP"}
    expected = {
        (year, families[family] if not sector else sector.split()[0]): values[1]
        for (year, family, sector), values in URSSAF_ROWS.items()
    }
    assert got == expected
    assert (employees["source"].str.startswith("Urssaf, données ouvertes")).all()
    sector = employees[employees["category"] == "88"].iloc[0]
    assert sector["breakdown"] == "division A88"
    assert sector["category_label"] == "88 – Action sociale sans hébergement"


@pytest.fixture(scope="module")
def cress_secret(empty_warehouse_path, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cress-secret")
    db = warehouse_with(empty_warehouse_path, folder, [cress_file(folder, CRESS_SECRET)])
    with open_warehouse(db) as wh:
        yield wh


def test_cress_figures_are_protected_like_the_observatorys_own(cress_secret):
    frame = indicators.compute(cress_secret, "departement", "34", 2023, themes=["published"])
    cells = {
        (r.indicator, r.category if isinstance(r.category, str) else ""): r
        for r in frame.itertuples()
    }
    # Mutuelles: 2 establishments, every measure masked (the primary rule).
    for indicator in ("cress_establishments", "cress_employees", "cress_ess_share_employees"):
        assert cells[(indicator, "MUT")].secret and cells[(indicator, "MUT")].display == "s"
    # Establishments: left alone, the ESS minus associations and coopératives would give the
    # mutuelles away: the smallest other family is masked too.
    assert cells[("cress_establishments", "COOP")].secret
    assert not cells[("cress_establishments", "ASSO")].secret
    assert not cells[("cress_establishments", "")].secret
    # Posts: the fondations (secret in the file) and the others (« nd ») are unknown as well,
    # so the ESS minus the published families leaves three unknowns: nothing more to mask.
    assert not any(cells[("cress_employees", f)].secret for f in ("", "ASSO", "COOP"))
    # The CRESS's own markers: « s » stays secret, « nd » is « n.d. ».
    assert cells[("cress_employees", "FOND")].display == "s"
    autre = cells[("cress_employees", "AUTRE")]
    assert autre.display == "n.d." and not autre.secret and not autre.available
    # Sector 88: its associations were secret in the file; its total alone beside them would
    # give them away (other families count as zero to a reader), so it is masked too.
    assert cells[("cress_employees", "ASSO 88")].secret
    assert cells[("cress_employees", "88")].secret


def test_no_cress_figure_masked_is_recoverable_from_the_others(cress_secret):
    """An attacker's view, independent of the solver: every published total minus its
    published parts (absent parts as zero) leaves at least two unknowns."""
    frame = indicators.compute(cress_secret, "departement", "34", 2023, themes=["published"])
    for indicator in ("cress_establishments", "cress_employees"):
        rows = frame[frame["indicator"] == indicator]
        unknown = rows["secret"] | ~rows["available"]
        families = rows["breakdown"] == "famille"
        total = rows["category"].isna()
        assert unknown[families].sum() != 1 or unknown[total].any()
        sector = rows["category"].isin(["88", "ASSO 88"])
        assert unknown[sector].sum() != 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", secrecy.SecrecyWarning)
        raw = indicators.compute(
            cress_secret, "departement", "34", 2023, themes=["published"], secrecy=False
        )
    mutuelles = raw[(raw["indicator"] == "cress_employees") & (raw["category"] == "MUT")]
    assert mutuelles["value"].iloc[0] == 20  # the true value, kept for private work
