"""SIRENE on the real 2021 extracts: counts compared with an independent pandas computation."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import duckdb
import pandas as pd
import pytest
from conftest import run_cli, run_clis
from ingest_helpers import query, write

from observatory import indicators, open_warehouse, reference
from observatory.ingest import IngestError, ingest
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


# ---------------------------------------------------------------------------------------------
# Rows in scope, broken rows, stocks (issue 22)

EXTRACT = "StockEtablissement_extract_2021-11_part1.csv"


def documented_rule(path):
    """The documented rule (docs/ingestion.md), applied with the csv module: the rows in scope
    (active, employer: flag O, or without a flag a band from 01 to 53) and those stored
    (placed in a commune of the COG, NAF rév. 2 code known, valid and unique SIRET, known band;
    abroad, overseas collectivities and older nomenclatures counted apart)."""
    communes = set(reference.communes()["code"]) | set(reference.commune_aliases()["code"])
    naf = set(reference.naf()["naf_code"])
    bands = {band for band, _, _ in STAFF_BANDS}
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    in_scope = [
        r
        for r in rows
        if r["etatAdministratifEtablissement"] == "A"
        and (
            r["caractereEmployeurEtablissement"] == "O"
            or (
                r["caractereEmployeurEtablissement"] == ""
                and "01" <= r["trancheEffectifsEtablissement"] <= "53"
            )
        )
    ]
    sirets = [r["siret"] for r in in_scope]
    stored = [
        r
        for r in in_scope
        if re.fullmatch(r"\d{14}", r["siret"])
        and sirets.count(r["siret"]) == 1
        and r["codeCommuneEtablissement"] in communes
        and r["nomenclatureActivitePrincipaleEtablissement"] in ("NAFRev2", "")
        and r["activitePrincipaleEtablissement"] in naf
        and r["trancheEffectifsEtablissement"] in bands
    ]
    return len(rows), len(in_scope), len(stored)


def test_a_load_reports_rows_in_scope_rejected_and_out_of_scope(db, real_data):
    """On the real extract: the command's output and load_stats give the rows in scope,
    rejected and out of scope, and the establishments stored are those of an independent count."""
    path = real_data / "sirene" / EXTRACT
    read, in_scope, stored = documented_rule(path)
    assert (read, in_scope) == (15_000, 1_267)  # as described in tests/data/real/README.md
    result = run_cli("ingest", "--vintage", "2021", "--db", str(db), str(path))
    assert result.returncode == 0, result.stderr
    stats = query(db, "SELECT item, value FROM load_stats").set_index("item")["value"]
    rejected = stats["dont rejetées"]
    assert stats["dans le champ (établissements actifs employeurs)"] == in_scope
    assert stats["hors champ (fermés ou non employeurs)"] == read - in_scope
    assert (
        f"{EXTRACT} (sirene, 2021) : 15 000 lignes lues ; 1 267 dans le champ, dont "
        f"{rejected} rejetées ; 13 733 hors champ." in result.stderr.replace("\u202f", " ")
    )
    assert query(db, "SELECT count(*) AS n FROM sirene_establishments").n[0] == stored
    counted_apart = stats[stats.index.str.startswith(("à l'étranger", "collectivité", "ancienne"))]
    assert stored == in_scope - rejected - counted_apart.sum()


def sirene_line(header: list[str], **values) -> str:
    """A StockEtablissement line with the real header: an active employer establishment of
    Montpellier unless told otherwise."""
    row = dict(
        etatAdministratifEtablissement="A",
        caractereEmployeurEtablissement="O",
        trancheEffectifsEtablissement="12",
        codeCommuneEtablissement="34172",
        activitePrincipaleEtablissement="88.10A",
        nomenclatureActivitePrincipaleEtablissement="NAFRev2",
    )
    row.update(values)
    row["siren"] = row["siret"][:9]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([row.get(name, "") for name in header])
    return out.getvalue()


@pytest.fixture(scope="module")
def real_header(real_data) -> list[str]:
    with (real_data / "sirene" / EXTRACT).open(encoding="utf-8") as handle:
        return handle.readline().strip().split(",")


@pytest.mark.parametrize("cut", ["au milieu", "après la dernière virgule"])
def test_broken_rows_are_rejected_with_file_line_column_and_reason(db, tmp_path, real_header, cut):
    """A short row, a long row, an invalid employer flag, an active employer of 500 to 999
    employees without a NAF code and a last line cut off: each rejected, none stored, none
    counted out of scope."""
    good = [sirene_line(real_header, siret=f"1234567890{i:04d}") for i in range(200)]
    no_naf = sirene_line(
        real_header,
        siret="99999999900001",
        activitePrincipaleEtablissement="",
        trancheEffectifsEtablissement="41",
    )
    short = ",".join(sirene_line(real_header, siret="99999999900002").split(",")[:30]) + "\n"
    long = sirene_line(real_header, siret="99999999900003").rstrip("\n") + ",en trop\n"
    flag = sirene_line(real_header, siret="99999999900004", caractereEmployeurEtablissement="X")
    last = sirene_line(real_header, siret="99999999900005").rstrip("\n")
    last = last[: len(last) // 2] if cut == "au milieu" else last[:-1]  # no line break either
    path = write(
        tmp_path / "StockEtablissement_2024.csv",
        ",".join(real_header) + "\n" + "".join([*good, no_naf, short, long, flag]) + last,
    )
    report = ingest([path], db_path=db)[0]
    rejects = query(db, 'SELECT line, "column", value, reason FROM rejects ORDER BY line')
    assert rejects.line.tolist() == [202, 203, 204, 205, 206]
    assert rejects.column.tolist()[:4] == [
        "activitePrincipaleEtablissement",
        "caractereEmployeurEtablissement",  # the last column, missing from the short row
        "au-delà de la colonne 48",
        "caractereEmployeurEtablissement",
    ]
    reasons = rejects.reason.tolist()
    assert reasons[0] == "code NAF absent"
    assert reasons[1].startswith("ligne incomplète") and reasons[2].startswith("ligne trop longue")
    assert reasons[3] == "caractère employeur invalide (O, N ou vide)"
    assert "coupé" in reasons[4] and rejects.value[2] == "en trop" and rejects.value[3] == "X"
    stored = query(db, "SELECT siret FROM sirene_establishments").siret
    assert len(stored) == 200 and stored.min() == 12345678900000 and stored.max() < 99999999900000
    assert (report.rows_read, report.in_scope, report.rows_rejected) == (205, 205, 5)


def test_a_last_line_cut_off_is_rejected_even_out_of_scope(db, tmp_path, real_header):
    """A closed establishment on the last line, cut after its last comma: out of scope by its
    values, it is still rejected (the line may have lost anything), at its line number."""
    good = [sirene_line(real_header, siret=f"1234567890{i:04d}") for i in range(300)]
    closed = sirene_line(real_header, siret="99999999900005", etatAdministratifEtablissement="F")
    path = write(
        tmp_path / "StockEtablissement_2024.csv",
        ",".join(real_header) + "\n" + "".join(good) + closed.rstrip("\n")[:-1],
    )
    report = ingest([path], db_path=db, max_reject_rate=0.01)[0]
    rejects = query(db, 'SELECT line, "column", reason FROM rejects')
    assert rejects.values.tolist() == [
        [302, real_header[-1], "dernière ligne coupée : dernière valeur vide et pas de fin de "
         "ligne (fichier tronqué ?)"]
    ]  # fmt: skip
    assert (report.rows_read, report.in_scope, report.rows_rejected) == (301, 301, 1)
    assert len(query(db, "SELECT siret FROM sirene_establishments")) == 300


def test_the_reject_threshold_applies_to_the_rows_in_scope(db, tmp_path, real_header):
    """2 rejected of 20 active employer establishments is 10 %, not 2 of 1 020 rows read
    (0.2 %): the load is refused and the warehouse unchanged."""
    closed = [
        sirene_line(real_header, siret=f"2000000000{i:04d}", etatAdministratifEtablissement="F")
        for i in range(1000)
    ]
    active = [sirene_line(real_header, siret=f"3000000000{i:04d}") for i in range(18)]
    bad = [
        sirene_line(real_header, siret=f"4000000000{i:04d}", codeCommuneEtablissement="34999")
        for i in range(2)
    ]
    path = write(
        tmp_path / "StockEtablissement_2024.csv",
        ",".join(real_header) + "\n" + "".join(closed + active + bad),
    )
    before = db.read_bytes()
    with pytest.raises(
        IngestError, match="2 lignes rejetées sur 20 dans le champ \\(10,0\u202f%\\)"
    ):
        ingest([path], db_path=db)
    assert db.read_bytes() == before


def stock(folder, name: str, header: list[str], states: dict[str, str]):
    """A StockEtablissement file in ``folder`` (SIRET → state)."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = [
        sirene_line(header, siret=siret, etatAdministratifEtablissement=state)
        for siret, state in states.items()
    ]
    return write(folder / name, ",".join(header) + "\n" + "".join(lines))


def stored_sirets(db) -> list[int]:
    return sorted(query(db, "SELECT siret FROM sirene_establishments").siret)


def test_a_newer_stock_replaces_the_stock_of_its_vintage(db, tmp_path, real_header):
    """Monthly stocks in the drop zone: the March stock, where an establishment has closed since
    January, replaces the January one, whether loaded later or in the same call; the load and
    `observatory sources` say what was replaced."""
    raw = tmp_path / "raw" / "sirene"
    name = "StockEtablissement_utf8.csv"
    january = stock(raw / "2024-01", name, real_header, {f"1000000000000{i}": "A" for i in "123"})
    march = stock(
        raw / "2024-03",
        name,
        real_header,
        {"10000000000001": "A", "10000000000002": "A", "10000000000003": "F"},
    )
    ingest([january], db_path=db)
    assert stored_sirets(db) == [10000000000001, 10000000000002, 10000000000003]
    result = run_cli("ingest", "--db", str(db), str(march))
    assert result.returncode == 0, result.stderr
    assert stored_sirets(db) == [10000000000001, 10000000000002]  # the closed one is gone
    assert "remplace le stock « 2024-01 » (3 établissements)" in result.stderr
    sources = run_cli("sources", "--db", str(db)).stdout.splitlines()
    assert sources[0].endswith(",notes")
    [line] = [s for s in sources if "2024-03" in s]
    assert "remplace le stock « 2024-01 » (3 établissements)" in line
    other = tmp_path / "autre.duckdb"
    other.write_bytes(db.read_bytes())
    with duckdb.connect(str(other)) as con:
        con.execute("DELETE FROM sirene_establishments; DELETE FROM sources")
    reports = ingest([march, january], db_path=other)  # in the same call, any order
    assert stored_sirets(other) == [10000000000001, 10000000000002]
    assert [r.file.parent.name for r in reports] == ["2024-01", "2024-03"]


def test_months_written_without_their_zero_are_ordered_as_months(db, tmp_path, real_header):
    """``2024-9/`` and ``2024-10/`` (by hand, without the zero ``observatory download`` writes):
    October is the newer stock, although « 2024-10 » sorts before « 2024-9 » as text."""
    raw = tmp_path / "raw" / "sirene"
    name = "StockEtablissement_utf8.csv"
    september = stock(raw / "2024-9", name, real_header, {"10000000000001": "A"})
    october = stock(raw / "2024-10", name, real_header, {"10000000000002": "A"})
    reports = ingest([september, october], db_path=db)
    assert stored_sirets(db) == [10000000000002]
    assert [r.file.parent.name for r in reports] == ["2024-9", "2024-10"]


def test_the_parts_of_one_stock_add_up(db, tmp_path, real_header):
    """A stock in parts (``…_part1.csv``, ``…_part2.csv``), loaded one after the other or in
    one call, or several files in one call, make one stock."""
    part1 = stock(tmp_path, "StockEtablissement_2021-11_part1.csv", real_header, {"1" * 14: "A"})
    part2 = stock(tmp_path, "StockEtablissement_2021-11_part2.csv", real_header, {"2" * 14: "A"})
    ingest([part1], db_path=db)
    report = ingest([part2], db_path=db)[0]
    assert stored_sirets(db) == [11111111111111, 22222222222222]
    assert not any(note.startswith("remplace") for note in report.notes)
    files = [
        stock(tmp_path / "occitanie", name, real_header, {siret * 14: "A"})
        for name, siret in (("etablissements_a.csv", "5"), ("etablissements_b.csv", "6"))
    ]
    ingest(files, vintage=2022, db_path=db)
    assert sorted(
        query(db, "SELECT vintage, siret FROM sirene_establishments").values.tolist()
    ) == [
        [2021, 11111111111111],
        [2021, 22222222222222],
        [2022, 55555555555555],
        [2022, 66666666666666],
    ]
    newer = stock(tmp_path, "StockEtablissement_2021-12.csv", real_header, {"4" * 14: "A"})
    report = ingest([newer], db_path=db)[0]  # a whole stock of the same vintage replaces
    assert report.notes[0] == (
        "remplace le stock « StockEtablissement_2021-11 » (2 établissements)"
    )
    assert query(
        db, "SELECT siret FROM sirene_establishments WHERE vintage = 2021"
    ).siret.tolist() == [44444444444444]


def test_establishments_without_their_units_are_reported(db, tmp_path, real_data):
    """Establishments loaded without their unités légales reach no figure: the load, `sources`
    and `info` say so, until the unités légales are loaded."""
    establishments = real_data / "sirene" / EXTRACT
    result = run_cli("ingest", "--vintage", "2021", "--db", str(db), str(establishments))
    assert result.returncode == 0, result.stderr
    expected = query(db, "SELECT count(*) AS n FROM sirene_establishments").n[0]
    assert expected > 1000
    note = f"{expected:,}".replace(",", "\u202f") + " établissements sans unité légale connue"
    assert f"Attention : {note} : chargez StockUniteLegale du même millésime" in result.stderr
    sources, info = (
        r.stdout for r in run_clis(["sources", "--db", str(db)], ["info", "--db", str(db)])
    )
    assert note in sources and f"Attention : {EXTRACT} : {note}" in info
    units = write(
        tmp_path / "StockUniteLegale_2021.csv",
        "siren,categorieJuridiqueUniteLegale\n"
        + "".join(
            f"{siren},5710\n"
            for siren in query(db, "SELECT DISTINCT siren FROM sirene_establishments").siren
        ),
    )
    ingest([units], db_path=db)
    assert note not in run_cli("sources", "--db", str(db)).stdout


def test_a_parquet_stock_with_boolean_employer_flags(db, tmp_path, real_data):
    """A Parquet file whose caractereEmployeurEtablissement is boolean loads the same
    establishments as the CSV it was made from."""
    csv_path = real_data / "sirene" / EXTRACT
    parquet = tmp_path / "StockEtablissement_2021.parquet"
    with duckdb.connect() as con:
        con.execute(
            f"COPY (SELECT * REPLACE (caractereEmployeurEtablissement = 'O' "
            f"AS caractereEmployeurEtablissement) FROM read_csv('{csv_path}', all_varchar = true)) "
            f"TO '{parquet}'"
        )
    report = ingest([parquet], db_path=db)[0]
    assert report.in_scope == documented_rule(csv_path)[1] == 1_267
    assert query(db, "SELECT count(*) AS n FROM sirene_establishments").n[0] > 1000
