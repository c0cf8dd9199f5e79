"""SIRENE on the real 2021 extracts: counts compared with an independent pandas computation."""

from __future__ import annotations

import zipfile

import duckdb
import pandas as pd
import pytest
from ingest_helpers import query, write

from observatory import indicators, open_warehouse, reference
from observatory.ingest import ingest
from observatory.sirene_codes import STAFF_BANDS

COM = ("975", "977", "978", "98")


@pytest.fixture()
def loaded(db, real_data):
    sirene = real_data / "sirene"
    reports = ingest(
        [
            sirene / "StockEtablissement_extract_2021-11_part1.csv",
            sirene / "StockUniteLegale_ess_numerique_extract.csv",
        ],
        vintage=2021,
        db_path=db,
    )
    return db, reports


@pytest.fixture(scope="module")
def expected(real_data):
    """Active employer establishments placed in France, computed with plain pandas."""
    e = pd.read_csv(
        real_data / "sirene" / "StockEtablissement_extract_2021-11_part1.csv",
        dtype=str,
        keep_default_na=False,
    )
    scope = e[
        (e.etatAdministratifEtablissement == "A") & (e.caractereEmployeurEtablissement == "O")
    ]
    aliases = reference.commune_aliases().set_index("code")["commune_code"]
    communes = pd.DataFrame(reference.communes())[["code", "departement_code"]]
    placed = scope[
        (scope.codeCommuneEtablissement != "") & ~scope.codeCommuneEtablissement.str.startswith(COM)
    ].copy()
    placed["commune"] = placed.codeCommuneEtablissement.map(aliases).fillna(
        placed.codeCommuneEtablissement
    )
    placed = placed.merge(communes, left_on="commune", right_on="code")
    naf = reference.naf()[["naf_code", "a21_code"]]
    placed = placed.merge(naf, left_on="activitePrincipaleEtablissement", right_on="naf_code")
    return dict(scope=scope, placed=placed)


def test_every_row_is_accounted_for(loaded):
    db, reports = loaded
    establishments = next(r for r in reports if "Etablissement" in r.file.name)
    assert establishments.rows_read == 15_000
    assert establishments.rows_read == establishments.rows_loaded + establishments.rows_rejected
    sources = query(db, "SELECT * FROM sources WHERE source = 'sirene'")
    assert (
        len(sources) == 2
        and (sources.rows_read == sources.rows_loaded + sources.rows_rejected).all()
    )
    assert set(sources.vintage) == {"2021"}


def test_establishments_per_departement_match_pandas(loaded, expected):
    db, _ = loaded
    got = query(
        db,
        "SELECT t.departement_code, count(*) AS n FROM sirene_establishments AS e "
        "JOIN territories AS t ON t.level = 'commune' AND t.code = e.commune_code "
        "GROUP BY ALL",
    ).set_index("departement_code")["n"]
    want = expected["placed"].groupby("departement_code").size()
    pd.testing.assert_series_equal(
        got.sort_index(), want.sort_index(), check_names=False, check_dtype=False
    )


def test_establishments_per_naf_section_match_pandas(loaded, expected):
    db, _ = loaded
    got = query(
        db,
        "SELECT s.a21_code, count(*) AS n FROM sirene_establishments AS e "
        "JOIN sectors AS s USING (naf_code) GROUP BY ALL",
    ).set_index("a21_code")["n"]
    want = expected["placed"].groupby("a21_code").size()
    pd.testing.assert_series_equal(
        got.sort_index(), want.sort_index(), check_names=False, check_dtype=False
    )


def test_abroad_overseas_and_arrondissements_are_counted_not_dropped(loaded, expected):
    db, _ = loaded
    stats = query(db, "SELECT item, value FROM load_stats").set_index("item")["value"]
    scope = expected["scope"]
    abroad = (
        (scope.codeCommuneEtablissement == "") & (scope.codePaysEtrangerEtablissement != "")
    ).sum()
    assert stats["à l'étranger"] == abroad > 0
    assert (
        stats["commune : arrondissement municipal"]
        == scope.codeCommuneEtablissement.str.match(r"^(751[0-2]\d|6938\d|132[01]\d)$").sum()
    )
    assert stats["hors champ (fermés ou non employeurs)"] == 15_000 - len(scope)
    paris = query(
        db, "SELECT count(*) AS n FROM sirene_establishments WHERE commune_code = '75056'"
    )
    assert (
        paris.n[0] > 0
        and query(
            db,
            "SELECT count(*) AS n FROM sirene_establishments "
            "WHERE commune_code LIKE '751%' AND commune_code <> '75056'",
        ).n[0]
        == 0
    )


def test_ess_units_per_family_match_an_independent_mapping(loaded, real_data):
    """Every unité légale of the extract is ESS-flagged; families from the legal category."""
    db, _ = loaded
    units = pd.read_csv(
        real_data / "sirene" / "StockUniteLegale_ess_numerique_extract.csv", dtype=str
    )
    by_hand = {
        "9220": "ASSO",
        "9221": "ASSO",
        "9230": "ASSO",
        "9260": "ASSO",
        "9300": "FOND",
        "5453": "COOP",
        "5458": "COOP",
        "5460": "COOP",
        "5558": "COOP",
        "5560": "COOP",
        "5660": "COOP",
        "6317": "COOP",
        "6318": "COOP",
    }
    category = units.categorieJuridiqueUniteLegale
    family = category.map(by_hand).fillna(category.str[0].map({"5": "SCESS"})).fillna("AUTRE")
    got = query(
        db,
        "SELECT family_code, count(*) AS n FROM legal_unit_classes "
        "WHERE ess_rule = 'drapeau SIRENE' GROUP BY ALL",
    ).set_index("family_code")["n"]
    want = family.value_counts()
    pd.testing.assert_series_equal(
        got.sort_index(), want.sort_index(), check_names=False, check_dtype=False
    )
    assert got["SCESS"] > 600  # 5710 SAS and 5499 SARL flagged ESS: the flag wins over the form


def test_ess_facts_estimate_employees_from_the_staff_band(db, tmp_path):
    """An association's employer establishment is an ESS fact with the band's documented value."""
    units = write(
        tmp_path / "StockUniteLegale_2023.csv",
        "siren,etatAdministratifUniteLegale,categorieJuridiqueUniteLegale,economieSocialeSolidaireUniteLegale\n"
        "123456789,A,9220,\n987654321,A,5710,N\n111111111,A,7210,\n",
    )
    establishments = write(
        tmp_path / "StockEtablissement_2023.csv",
        "siren,siret,etatAdministratifEtablissement,caractereEmployeurEtablissement,"
        "trancheEffectifsEtablissement,codeCommuneEtablissement,activitePrincipaleEtablissement\n"
        "123456789,12345678900011,A,O,12,34172,88.10A\n"
        "987654321,98765432100011,A,O,02,34172,62.01Z\n"
        "111111111,11111111100011,A,O,21,34172,84.11Z\n",
    )
    ingest([establishments, units], db_path=db)
    facts = query(db, "SELECT * FROM ess_facts")
    assert facts[
        ["commune_code", "year", "family_code", "naf_code", "establishments", "source"]
    ].values.tolist() == [["34172", 2023, "ASSO", "88.10A", 1, "sirene"]]
    assert dict((b, v) for b, _, v in STAFF_BANDS)["12"] == 34.5
    assert facts.employees[0] == 34.5  # 20 à 49 salariés: the band's midpoint, not rounded
    totals = query(
        db,
        "SELECT a88_code, private_non_ess_establishments, public_establishments "
        "FROM employment_totals ORDER BY a88_code",
    )
    assert totals.values.tolist() == [["62", 1, 0], ["84", 0, 1]]
    share = query(
        db,
        "SELECT ess_establishments, private_non_ess_establishments FROM employment_by_territory "
        "WHERE level = 'commune' AND code = '34172'",
    )
    assert share.values.tolist() == [[1, 1]]  # ESS share of establishments from the same source


# INSEE's staff bands (trancheEffectifsEtablissement) and their midpoints, written from INSEE's
# band limits (not from observatory/sirene_codes.py); no band, NN and 00: no employee.
MIDPOINTS = {
    "01": (1 + 2) / 2,
    "02": (3 + 5) / 2,
    "03": (6 + 9) / 2,
    "11": (10 + 19) / 2,
    "12": (20 + 49) / 2,
    "21": (50 + 99) / 2,
    "22": (100 + 199) / 2,
    "31": (200 + 249) / 2,
    "32": (250 + 499) / 2,
    "41": (500 + 999) / 2,
    "42": (1000 + 1999) / 2,
    "51": (2000 + 4999) / 2,
    "52": (5000 + 9999) / 2,
    "53": 10000,
}


def test_estimated_employees_are_the_exact_sum_of_band_midpoints(db, tmp_path, real_data, expected):
    """Every active employer establishment of the real extract made an association (a unité
    légale file written here: the extract's own units are not in the repository): the ESS
    employees of France, of each département and of each family are the plain sum of their
    establishments' band midpoints, not a sum of cells rounded half up (+0,4 % on this
    extract, about 2 % on a national stock)."""
    placed = expected["placed"]
    units = pd.DataFrame(
        {"siren": sorted(set(placed.siren)), "categorieJuridiqueUniteLegale": "9220"}
    )
    units.to_csv(tmp_path / "StockUniteLegale_2021.csv", index=False)
    ingest(
        [
            real_data / "sirene" / "StockEtablissement_extract_2021-11_part1.csv",
            tmp_path / "StockUniteLegale_2021.csv",
        ],
        vintage=2021,
        db_path=db,
    )
    midpoints = placed.trancheEffectifsEtablissement.map(MIDPOINTS).fillna(0.0)
    assert midpoints.sum() == 72_415.5
    with open_warehouse(db) as wh:
        france = indicators.compute(wh, "france", "FR", 2021, themes=["key_figures"])
        employees = france.set_index("indicator").loc["ess_employees"]
        assert employees["value"] == midpoints.sum()
        assert employees["display"] == "72\u202f416"  # rounded for display only
        by_departement = wh.sql(
            "SELECT code, ess_employees FROM employment_by_territory "
            "WHERE level = 'departement' AND year = 2021"
        ).set_index("code")["ess_employees"]
    want = midpoints.groupby(placed.departement_code).sum()
    pd.testing.assert_series_equal(
        by_departement[by_departement > 0].sort_index(),
        want[want > 0].sort_index(),
        check_names=False,
        check_index_type=False,
    )


def test_ess_france_list_flags_a_commercial_company(db, tmp_path):
    units = write(
        tmp_path / "StockUniteLegale_2023.csv",
        "siren,categorieJuridiqueUniteLegale\n987654321,5710\n",
    )
    establishments = write(
        tmp_path / "StockEtablissement_2023.csv",
        "siret,etatAdministratifEtablissement,caractereEmployeurEtablissement,"
        "trancheEffectifsEtablissement,codeCommuneEtablissement,activitePrincipaleEtablissement\n"
        "98765432100011,A,O,03,1001,62.01Z\n",
    )
    listing = write(tmp_path / "liste_ess_france.csv", "SIREN\n987 654 321\n")
    ingest([units, establishments, listing], db_path=db)
    facts = query(db, "SELECT commune_code, family_code FROM ess_facts")
    assert facts.values.tolist() == [["01001", "SCESS"]]  # « 1001 » repaired to 01001
    assert query(db, "SELECT ess_rule FROM legal_unit_classes").ess_rule[0] == "liste ESS France"


def test_old_layout_parquet_and_zip_load_alike(db, tmp_path, real_data):
    sample = real_data / "sirene" / "StockUniteLegale_v3_2019_sample.csv"
    parquet = tmp_path / "StockUniteLegale_2019.parquet"
    with duckdb.connect() as con:
        con.execute(f"COPY (SELECT * FROM read_csv('{sample}', all_varchar = true)) TO '{parquet}'")
    zipped = tmp_path / "StockUniteLegale_2019.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.write(sample, "StockUniteLegale_utf8.csv")
    csv_units = ingest([sample], vintage=2019, db_path=db)[0]
    n = query(db, "SELECT count(*) AS n FROM legal_units").n[0]
    assert n == csv_units.rows_loaded - int(
        query(
            db, "SELECT coalesce(sum(value), 0) AS n FROM load_stats WHERE item LIKE 'hors champ%'"
        ).n[0]
    )
    for other in (parquet, zipped):
        report = ingest([other], db_path=db)[0]
        assert report.rows_read == csv_units.rows_read
        assert query(db, "SELECT count(*) AS n FROM legal_units").n[0] == n  # replaced, not doubled


def test_a_warehouse_with_text_sirens_is_converted_before_a_load(db, tmp_path):
    """SIREN and SIRET were stored as text before November 2026: loading into such a warehouse
    converts them first, so that a unité légale loaded then still classifies its establishments
    (here a SIREN with a leading zero, which text and number would spell differently)."""
    units = write(
        tmp_path / "StockUniteLegale_2023.csv",
        "siren,categorieJuridiqueUniteLegale\n012345678,9220\n",
    )
    ingest([units], db_path=db)
    with duckdb.connect(str(db)) as con:  # the warehouse as the older version wrote it
        con.execute(
            "ALTER TABLE legal_units ALTER siren SET DATA TYPE VARCHAR "
            "USING lpad(siren::VARCHAR, 9, '0')"
        )
        con.execute("ALTER TABLE sirene_establishments ALTER siret SET DATA TYPE VARCHAR")
        con.execute("ALTER TABLE sirene_establishments ALTER siren SET DATA TYPE VARCHAR")
    establishments = write(
        tmp_path / "StockEtablissement_2023.csv",
        "siret,etatAdministratifEtablissement,caractereEmployeurEtablissement,"
        "trancheEffectifsEtablissement,codeCommuneEtablissement,activitePrincipaleEtablissement\n"
        "01234567800011,A,O,03,34172,88.10A\n",
    )
    ingest([establishments], db_path=db)
    facts = query(db, "SELECT commune_code, family_code, establishments FROM ess_facts")
    assert facts.values.tolist() == [["34172", "ASSO", 1]]
    types = query(
        db,
        "SELECT table_name, column_name, data_type FROM duckdb_columns() "
        "WHERE column_name IN ('siren', 'siret') AND table_name IN "
        "('legal_units', 'sirene_establishments', 'ess_france_sirens') ORDER BY ALL",
    )
    assert types.values.tolist() == [
        ["ess_france_sirens", "siren", "INTEGER"],
        ["legal_units", "siren", "INTEGER"],
        ["sirene_establishments", "siren", "INTEGER"],
        ["sirene_establishments", "siret", "BIGINT"],
    ]


def test_codes_of_merged_communes_land_in_their_current_commune(db, tmp_path):
    """A file produced before a merger keeps the former codes: Ciel (71131) is part of
    Verdun-Ciel (71566) since 2025; Hainneville (50226) merged into Équeurdreville-Hainneville
    in 1965, itself merged into Cherbourg-en-Cotentin (50129) in 2016."""
    establishments = write(
        tmp_path / "StockEtablissement_2021.csv",
        "siret,etatAdministratifEtablissement,caractereEmployeurEtablissement,"
        "trancheEffectifsEtablissement,codeCommuneEtablissement,activitePrincipaleEtablissement\n"
        "12345678900011,A,O,03,71131,88.10A\n"
        "12345678900029,A,O,03,50226,88.10A\n"
        "12345678900037,A,O,03,71566,88.10A\n",
    )
    report = ingest([establishments], vintage=2021, db_path=db)[0]
    assert report.rows_rejected == 0
    placed = query(db, "SELECT siret, commune_code FROM sirene_establishments ORDER BY siret")
    assert placed.values.tolist() == [
        [12345678900011, "71566"],
        [12345678900029, "50129"],
        [12345678900037, "71566"],
    ]
    stats = query(db, "SELECT item, value FROM load_stats").set_index("item")["value"]
    assert stats["commune : ancienne commune (fusion ou changement de code)"] == 2
