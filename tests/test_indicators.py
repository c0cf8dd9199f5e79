"""The indicator library, checked against plain pandas on a tiny warehouse built in the test."""

import math
import warnings

import pandas as pd
import pytest
from domain_helpers import documented_domain
from tiny_warehouse import PRIVATE, PUBLIC, build_tiny, facts, size_facts, territories

from observatory import indicators, open_warehouse
from observatory.secrecy import SecrecyWarning

MEASURES = {
    "establishments": "establishments",
    "employees": "employees",
    "fte": "fte",
    "gross_wages": "gross_wages",
}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    with open_warehouse(build_tiny(tmp_path_factory.mktemp("tiny") / "tiny.duckdb")) as wh:
        yield wh


def values(frame, indicator, column="category"):
    rows = frame[frame["indicator"] == indicator]
    return (
        dict(zip(rows[column], rows["value"]))
        if rows[column].notna().any()
        else rows["value"].iloc[0]
    )


def unprotected(wh, level, code, year=2016, **options):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecrecyWarning)
        return indicators.compute(wh, level, code, year, secrecy=False, **options)


def hérault_facts(year=2016):
    f = facts()
    return f[f["commune_code"].str.startswith("34") & (f["year"] == year)]


def test_key_figures_and_shares_match_pandas(tiny):
    frame = indicators.compute(tiny, "departement", "34", 2016)
    expected = hérault_facts()[list(MEASURES)].sum()
    for measure in MEASURES:
        assert values(frame, f"ess_{measure}") == pytest.approx(expected[measure])
    employees = expected["employees"]
    total = employees + 3 * (PRIVATE + PUBLIC)
    assert values(frame, "ess_share_employees") == pytest.approx(100 * employees / total)
    assert values(frame, "ess_share_private_employees") == pytest.approx(
        100 * employees / (employees + 3 * PRIVATE)
    )
    assert values(frame, "total_employees") == total
    row = frame[frame["indicator"] == "ess_share_employees"].iloc[0]
    assert row["display"] == "41,6\u202f%" and row["unit"] == "%"
    assert (
        row["note"] == "dénominateur : ensemble des postes salariés (ESS, privé hors ESS, public)"
    )
    assert frame.attrs["indicators"]["ess_share_employees"]["label"].startswith("Part de l'ESS")


def test_families_match_pandas_without_secrecy(tiny):
    frame = unprotected(tiny, "departement", "34")
    expected = hérault_facts().groupby("family_code")["employees"].sum()
    got = values(frame, "family_employees")
    assert got == {**dict.fromkeys(["MUT", "FOND", "AUTRE", "SCESS"], 0.0), **expected.to_dict()}
    shares = values(frame, "family_share_employees")
    assert shares["ASSO"] == pytest.approx(100 * 270 / 320)
    labels = frame[frame["indicator"] == "family_employees"]["category_label"].tolist()
    assert labels[:2] == ["Associations", "Coopératives"]


def test_sectors_shares_and_specialisation_match_pandas(tiny):
    frame = unprotected(tiny, "departement", "34")
    f = hérault_facts()
    by_a88 = f.assign(a88=f["naf_code"].str[:2]).groupby("a88")["employees"].sum()
    sector = frame[frame["breakdown"] == "division A88"]
    assert values(sector, "sector_employees") == by_a88.to_dict()
    assert values(sector, "sector_ess_share") == pytest.approx(
        {"88": 100 * by_a88["88"] / (by_a88["88"] + 3 * (PRIVATE + PUBLIC)), "94": 100.0}
    )
    all_facts = facts()[facts()["year"] == 2016]
    france_88 = all_facts[all_facts["naf_code"] == "88.10A"]["employees"].sum()
    expected_lq = (by_a88["88"] / by_a88.sum()) / (france_88 / all_facts["employees"].sum())
    assert values(sector, "sector_specialisation_france")["88"] == pytest.approx(expected_lq)
    sections = frame[frame["breakdown"] == "section A21"]
    assert values(sections, "sector_employees") == {"Q": by_a88["88"], "S": by_a88["94"]}


def test_change_over_time_flags_the_clap_flores_break(tiny):
    frame = indicators.compute(tiny, "departement", "34", 2016)
    before, after = hérault_facts(2015)["employees"].sum(), hérault_facts(2016)["employees"].sum()
    change = frame[frame["indicator"] == "employees_annual_change"].iloc[0]
    assert change["value"] == pytest.approx(100 * (after / before - 1))
    assert change["series_break"] and "rupture de série" in change["note"]
    assert change["display"] == "+6,7\u202f%"
    index = values(frame, "employees_index")
    assert index == {"2015": 100.0, "2016": pytest.approx(100 * after / before)}
    growth = frame[frame["indicator"] == "employees_average_growth"].iloc[0]
    assert growth["value"] == pytest.approx(100 * (after / before - 1))
    assert growth["category_label"] == "2015 à 2016"


def test_rankings_among_siblings(tiny):
    frame = indicators.compute(tiny, "departement", "48", 2016)
    ranks = frame[frame["indicator"] == "rank_ess_employees"]
    assert ranks["value"].tolist() == [2, 2]  # Lozère is behind Hérault, in France and in 76
    assert ranks["note"].tolist() == ["sur 2 départements"] * 2
    assert ranks["display"].iloc[0] == "2e"


def test_density_and_average_size(tiny):
    frame = indicators.compute(tiny, "departement", "34", 2016)
    assert values(frame, "density_employees") == pytest.approx(1000 * 320 / 13_000)
    assert values(frame, "density_establishments") == pytest.approx(10_000 * 20 / 13_000)
    assert values(frame, "average_size") == pytest.approx(320 / 20)


def test_missing_population_gives_missing_density_not_a_crash(tiny):
    frame = indicators.compute(tiny, "departement", "48", 2016)
    row = frame[frame["indicator"] == "density_employees"].iloc[0]
    assert math.isnan(row["value"]) and row["display"] == "–"
    assert row["note"] == "population non disponible"


def test_metropoles_and_communes_with_ess(tiny):
    frame = unprotected(tiny, "departement", "34")
    assert values(frame, "ess_share_metropoles") == pytest.approx(
        100 * 290 / (290 + 2 * (PRIVATE + PUBLIC))
    )
    assert values(frame, "ess_share_outside_metropoles") == pytest.approx(
        100 * 30 / (30 + PRIVATE + PUBLIC)
    )
    assert values(frame, "communes_with_ess") == 100.0
    # Lodève alone outside the métropole has one establishment: both parts are secret.
    protected = indicators.compute(tiny, "departement", "34", 2016)
    rows = protected[
        protected["indicator"].str.startswith("ess_share_")
        & protected["indicator"].str.contains("metropolitan")
    ]
    assert rows["secret"].all() and (rows["display"] == "s").all()


def test_workforce_is_explicitly_not_available(tiny):
    frame = indicators.compute(tiny, "departement", "34", 2016)
    rows = frame[
        frame["indicator"].isin(["workforce_women", "workforce_55_plus", "workforce_part_time"])
    ]
    assert len(rows) == 3 and not rows["available"].any() and rows["value"].isna().all()
    assert rows["note"].str.contains("non disponible dans les sources chargées").all()


def test_size_classes_match_pandas_without_secrecy(tiny):
    f = size_facts()
    f = f[f["commune_code"].str.startswith("34") & (f["year"] == 2016)]
    by_class = f.groupby("size_class")[["establishments", "employees"]].sum()
    frame = unprotected(tiny, "departement", "34")
    expected = {code: 0.0 for code in ("0-9", "10-49", "50-249", "250+")}
    assert values(frame, "size_establishments") == {
        **expected,
        **by_class["establishments"].to_dict(),
    }
    assert values(frame, "size_employees") == {**expected, **by_class["employees"].to_dict()}
    shares = values(frame, "size_share_establishments")
    assert shares["0-9"] == pytest.approx(100 * 8 / 20) and shares["10-49"] == pytest.approx(60)
    rows = frame[frame["indicator"] == "size_establishments"]
    assert rows["category_label"].tolist() == [
        "Moins de 10 salariés",
        "10 à 49 salariés",
        "50 à 249 salariés",
        "250 salariés ou plus",
    ]


def test_size_classes_are_masked_and_not_recoverable_from_the_total(tiny):
    # Lozère 2016: one establishment of 50 to 249 (primary secrecy); the total of 9 minus the
    # 8 others would give it away, so a second class is masked.
    frame = indicators.compute(tiny, "departement", "48", 2016)
    sizes = frame[frame["indicator"] == "size_establishments"].set_index("category")
    total = frame.loc[frame["indicator"] == "ess_establishments"].iloc[0]
    assert total["value"] == 9 and not total["secret"]
    assert sizes.loc["50-249", "display"] == "s"
    assert set(sizes.index[sizes["secret"]]) == {"0-9", "50-249"}  # 9 - 0 - 0 = two unknowns
    shares = frame[frame["indicator"] == "size_share_establishments"].set_index("category")
    assert shares.loc[sizes["secret"], "display"].eq("s").all()


def test_size_classes_are_not_available_without_establishment_sizes(tmp_path):
    with open_warehouse(build_tiny(tmp_path / "tiny.duckdb", sizes=False)) as wh:
        frame = indicators.compute(wh, "departement", "34", 2016)
    rows = frame[frame["theme"] == "size"].set_index("indicator")
    assert rows.loc["average_size", "value"] == pytest.approx(320 / 20)
    classes = rows.drop(index="average_size")
    assert len(classes) == 3 and not classes["available"].any()


def test_comparison_with_the_parent_and_any_reference(tiny):
    frame = indicators.compute(tiny, "departement", "34", 2016)
    assert values(frame, "reference_ess_employees") == {"76": 392}
    region_share = 100 * 392 / (392 + 5 * (PRIVATE + PUBLIC))
    assert values(frame, "reference_ess_share_employees")["76"] == pytest.approx(region_share)
    own = 100 * 320 / (320 + 3 * (PRIVATE + PUBLIC))
    assert values(frame, "gap_ess_share_employees")["76"] == pytest.approx(own - region_share)
    other = indicators.compute(
        tiny, "departement", "34", 2016, reference=indicators.resolve(tiny, "FR", "france")
    )
    assert set(other[other["theme"] == "comparison"]["category"]) == {"FR"}


def test_every_indicator_of_the_registry_has_metadata_and_appears(tiny):
    frame = indicators.compute(tiny, "commune", "34001", 2016)
    assert set(frame["indicator"]) == set(indicators.REGISTRY)
    for meta in indicators.REGISTRY.values():
        assert meta.label and meta.definition and meta.unit and meta.source
    assert (frame["source"].str.len() > 0).all()
    assert list(frame.columns) == indicators.COLUMNS


def test_commune_level_uses_its_own_sector_totals(tiny):
    frame = unprotected(tiny, "commune", "34001")
    assert values(frame, "ess_employees") == 250
    shares = values(frame[frame["breakdown"] == "division A88"], "sector_ess_share")
    assert shares["88"] == pytest.approx(100 * 200 / (200 + PRIVATE + PUBLIC))


def test_code_resolution_rules(tiny):
    assert indicators.guess_level("34") == "departement"
    assert indicators.guess_level("2A") == "departement"
    assert indicators.guess_level("971") == "departement"
    assert indicators.guess_level("34001") == "commune"
    assert indicators.guess_level("200000001") == "epci"
    assert indicators.resolve(tiny, "76", "region").name == "Occitanie"
    with pytest.raises(indicators.TerritoryError, match="département « 99 » introuvable"):
        indicators.resolve(tiny, "99")
    with pytest.raises(indicators.TerritoryError, match="non reconnu"):
        indicators.resolve(tiny, "1234")
    with pytest.raises(indicators.YearError, match=r"2014 non disponible.*2015 à 2016"):
        indicators.compute(tiny, "departement", "34", 2014)


def test_epci_metropole_is_recognised_by_its_insee_code(tiny):
    metro = unprotected(tiny, "epci", "200000001")
    assert values(metro, "ess_share_metropoles") == pytest.approx(
        100 * 290 / (290 + 2 * (PRIVATE + PUBLIC))
    )
    assert territories().query("epci_type == 'ME'")["code"].tolist()[0] == "200000001"


def test_average_wage_per_fte_is_the_wage_bill_over_fte(tiny):
    frame = indicators.compute(tiny, "departement", "34", 2016)
    f = hérault_facts()
    assert values(frame, "ess_average_wage_fte") == pytest.approx(
        f["gross_wages"].sum() / f["fte"].sum()
    )
    row = frame[frame["indicator"] == "ess_average_wage_fte"].iloc[0]
    assert row["display"] == "33\u202f333\u00a0€" and row["unit"] == "euros par ETP"


def test_average_wage_is_masked_with_the_wage_bill_or_the_fte(tiny):
    # Lodève: one establishment, every measure masked; so is its average wage.
    frame = indicators.compute(tiny, "commune", "34003", 2016)
    rows = frame[frame["indicator"].isin(["ess_fte", "ess_gross_wages", "ess_average_wage_fte"])]
    assert rows["secret"].all() and (rows["display"] == "s").all()


def test_domains_match_pandas_without_secrecy(tiny):
    frame = unprotected(tiny, "departement", "34")
    f = hérault_facts()
    # The documented mapping (docs/domains.md): 88.10A lies in division 88, « Action sociale »;
    # 94.99Z is « Associations non classées ailleurs ».
    domain = f["naf_code"].map({"88.10A": "action_sociale", "94.99Z": "non_classes"})
    expected = f.assign(domain=domain).groupby("domain")[["establishments", "employees"]].sum()
    assert values(frame, "domain_employees") == expected["employees"].to_dict()
    assert values(frame, "domain_establishments") == expected["establishments"].to_dict()
    shares = values(frame, "domain_share_employees")
    assert shares["action_sociale"] == pytest.approx(100 * 240 / 320)
    rows = frame[frame["indicator"] == "domain_employees"].set_index("category")
    assert rows.loc["action_sociale", "category_label"] == "Action sociale"
    assert rows.loc["action_sociale", "note"] == "codes NAF : 87, 88"
    assert rows.loc["non_classes", "note"] == "codes NAF : 94.99Z"


def test_domains_are_masked_with_the_sectors_they_equal(tiny):
    # Lodève's only establishment is in 94.99Z: its division, section and domain are masked.
    frame = indicators.compute(tiny, "commune", "34003", 2016)
    sector = frame[frame["indicator"] == "sector_employees"].set_index("category")
    domain = frame[frame["indicator"] == "domain_employees"].set_index("category")
    assert sector.loc["94", "secret"] and domain.loc["non_classes", "secret"]
    assert domain.loc["non_classes", "display"] == "s"


def test_compared_with_the_parent_and_france(tiny):
    frame = indicators.compute(tiny, "departement", "34", 2016)
    rows = frame[frame["indicator"].str.startswith("compared_")]
    assert set(rows["category"]) == {"76", "FR"}  # no Île-de-France: no « France de province »
    assert set(rows["breakdown"]) == {"territoire de comparaison"}
    f = facts()[facts()["year"] == 2016]
    france = {
        "compared_ess_employees": f["employees"].sum(),
        "compared_ess_establishments": f["establishments"].sum(),
        "compared_ess_fte": f["fte"].sum(),
        "compared_ess_gross_wages": f["gross_wages"].sum(),
        "compared_average_wage_fte": f["gross_wages"].sum() / f["fte"].sum(),
        "compared_ess_share_employees": 100
        * f["employees"].sum()
        / (f["employees"].sum() + 5 * (PRIVATE + PUBLIC)),
        "compared_ess_share_private_employees": 100
        * f["employees"].sum()
        / (f["employees"].sum() + 5 * PRIVATE),
    }
    for indicator, expected in france.items():
        assert values(rows, indicator)["FR"] == pytest.approx(expected), indicator
    labels = rows.drop_duplicates("category").set_index("category")["category_label"]
    assert labels["FR"] == "France" and labels["76"] == "Occitanie (région 76)"


def demo_facts(wh, level: str, code: str, year: int) -> pd.DataFrame:
    """The demo's ESS facts of a territory and year, with each sous-classe's documented domain."""
    f = wh.sql(
        "SELECT f.* FROM ess_facts AS f JOIN territory_communes AS t USING (commune_code) "
        "WHERE t.level = $level AND t.code = $code AND f.year = $year",
        dict(level=level, code=code, year=year),
    )
    return f.assign(domain=f["naf_code"].map(documented_domain))


@pytest.mark.parametrize(
    "level, code", [("departement", "48"), ("departement", "34"), ("region", "76")]
)
def test_demo_domains_match_pandas_over_the_facts(wh, level, code):
    year = wh.years()[-1]
    f = demo_facts(wh, level, code, year)
    expected = f.groupby("domain")[["establishments", "employees"]].sum()
    frame = unprotected(wh, level, code, year, themes=["domains"])
    assert values(frame, "domain_employees") == pytest.approx(expected["employees"].to_dict())
    assert values(frame, "domain_establishments") == expected["establishments"].to_dict()
    shares = values(frame, "domain_share_employees")
    for domain, employees in expected["employees"].items():
        assert shares[domain] == pytest.approx(100 * employees / f["employees"].sum())
    # With secrecy: the same figures where published, « s » where masked.
    shown = indicators.compute(wh, level, code, year, themes=["domains"])
    rows = shown[shown["indicator"] == "domain_employees"].set_index("category")
    published = rows[~rows["secret"]]
    assert published["value"].to_dict() == pytest.approx(
        expected["employees"][published.index].to_dict()
    )
    assert (rows.loc[rows["secret"], "display"] == "s").all()


def employment_of(wh, communes: pd.Series, year: int) -> dict:
    """ESS (facts) and salaried employment outside the ESS (totals) of a set of communes."""
    facts_ = wh.sql("SELECT * FROM ess_facts WHERE year = $year", dict(year=year))
    facts_ = facts_[facts_["commune_code"].isin(communes)]
    totals = wh.sql("SELECT * FROM employment_totals WHERE year = $year", dict(year=year))
    totals = totals[totals["commune_code"].isin(communes)]
    ess = facts_["employees"].sum()
    private = ess + totals["private_non_ess_employees"].sum()
    return {
        "compared_ess_establishments": facts_["establishments"].sum(),
        "compared_ess_employees": ess,
        "compared_ess_fte": facts_["fte"].sum(),
        "compared_ess_gross_wages": facts_["gross_wages"].sum(),
        "compared_average_wage_fte": facts_["gross_wages"].sum() / facts_["fte"].sum(),
        "compared_ess_share_private_employees": 100 * ess / private,
        "compared_ess_share_employees": 100 * ess / (private + totals["public_employees"].sum()),
    }


def test_demo_comparison_with_france_and_france_de_province_matches_pandas(wh):
    """« France de province » is France less Île-de-France (région 11): its figures from the
    facts of every commune outside région 11, beside France's, in Lozère's portrait."""
    year = wh.years()[-1]
    communes = wh.territories("commune")
    frame = unprotected(wh, "departement", "48", year, themes=["comparison"])
    rows = frame[frame["indicator"].str.startswith("compared_")]
    assert rows["category"].drop_duplicates().tolist() == ["76", "FR", "FRP"]
    label = rows.loc[rows["category"] == "FRP", "category_label"].iloc[0]
    assert label == "France de province (hors Île-de-France)"
    expected = {
        "FR": employment_of(wh, communes["code"], year),
        "FRP": employment_of(wh, communes.loc[communes["region_code"] != "11", "code"], year),
        "76": employment_of(wh, communes.loc[communes["region_code"] == "76", "code"], year),
    }
    for category, figures in expected.items():
        for indicator, value in figures.items():
            assert values(rows, indicator)[category] == pytest.approx(value), (category, indicator)
    # Published as they are in France's and Occitanie's own portraits.
    shown = indicators.compute(wh, "departement", "48", year, themes=["comparison"])
    assert not shown.loc[shown["indicator"].str.startswith("compared_"), "secret"].any()
    own = indicators.compute(wh, "france", "FR", year, themes=["key_figures"])
    assert values(shown, "compared_ess_gross_wages")["FR"] == values(own, "ess_gross_wages")


def test_demo_private_share_and_average_wage_match_pandas(wh):
    year = wh.years()[-1]
    communes = wh.territories("commune")
    for level, code, column in (
        ("departement", "48", "departement_code"),
        ("region", "11", "region_code"),
    ):
        expected = employment_of(wh, communes.loc[communes[column] == code, "code"], year)
        frame = indicators.compute(wh, level, code, year, themes=["key_figures"])
        for own, compared in (
            ("ess_share_private_employees", "compared_ess_share_private_employees"),
            ("ess_share_employees", "compared_ess_share_employees"),
            ("ess_average_wage_fte", "compared_average_wage_fte"),
            ("ess_fte", "compared_ess_fte"),
        ):
            assert values(frame, own) == pytest.approx(expected[compared]), (code, own)


@pytest.mark.parametrize(
    ("level", "within", "years"),
    [("commune", "departement:48", (2022, 2016)), ("departement", None, (2022,))],
    ids=["communes-de-lozere", "departements-de-france"],
)
def test_many_territories_at_once_are_computed_as_one_by_one(wh, level, within, years):
    """compute_many (observatory.table's one pass over a level, issue 24) gives, row by row, the
    frame of one compute per territory and year: every theme, value, secret flag (primary and
    secondary secrecy), « s » and column type."""
    from observatory import api

    places = api.members(wh, level, within)
    batched = indicators.compute_many(wh, places, list(years))
    one_by_one = pd.concat(
        [indicators.compute(wh, p.level, p.code, year) for p in places for year in years],
        ignore_index=True,
    )
    pd.testing.assert_frame_equal(batched, one_by_one)
    assert set(batched["code"]) == {p.code for p in places}
    # Secondary secrecy is there to compare: establishment counts masked though they count 3
    # or more (the count rule alone masks 1 or 2, and no dominance rule applies to counts).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SecrecyWarning)
        raw = indicators.compute_many(wh, places, list(years), themes=["families"], secrecy=False)
    shown = batched[batched["theme"] == "families"].reset_index(drop=True)
    counts = (shown["indicator"] == "family_establishments") & (raw["value"] >= 3)
    assert (shown.loc[counts, "display"] == "s").any()
