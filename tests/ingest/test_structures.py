"""The directory of support structures through `observatory ingest`: the documented template
loads, bad rows are rejected with reasons, a reload replaces a structure, demo stays apart."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from conftest import run_cli
from ingest_helpers import query, write
from pyproj import Geod

from observatory import reference, settings
from observatory.ingest import IngestError, ingest

TEMPLATE = settings.DATA_DIR / "templates" / "structures_modele.csv"
HEADER = (
    "identifiant;nom;type;code_commune;latitude;longitude;phases;date_ouverture;"
    "date_fermeture;source\n"
)


def test_the_documented_template_loads_beside_the_embedded_structures(db):
    report = ingest([TEMPLATE], db_path=db)[0]
    assert (report.source, report.rows_read, report.rows_rejected) == ("structures", 4, 0)
    rows = query(db, "SELECT * FROM support_structures ORDER BY structure_id")
    assert len(rows) == 14 + 4  # the embedded real entries stay
    albi = rows.set_index("structure_id").loc["EX-PEPINIERE-ALBI"]
    assert (albi["structure_type"], albi["commune_code"]) == ("pepiniere", "81004")
    assert (albi["latitude"], albi["longitude"]) == (43.9289, 2.1464)
    assert albi["phase_creation"] and albi["phase_post_creation"] and not albi["phase_emergence"]
    assert (str(albi["opening_date"].date()), albi["opening_precision"]) == ("2019-09-01", "mois")
    figeac = rows.set_index("structure_id").loc["EX-TIERS-LIEU-FIGEAC"]
    assert str(figeac["opening_date"].date()) == "2021-03-15"
    closed = rows.set_index("structure_id").loc["EX-PTCE-AUCH"]
    assert str(closed["closing_date"].date()) == "2023-12-31"
    assert not rows["synthetic"].any()
    source = query(db, "SELECT * FROM sources WHERE source = 'structures'").iloc[0]
    assert (source["rows_read"], source["rows_loaded"], source["synthetic"]) == (4, 4, False)


def test_bad_rows_are_rejected_with_file_line_column_value_and_reason(db, tmp_path):
    good = "".join(
        f"OK-{i};Tiers-lieu {i};tiers_lieu;46102;;;emergence;2020;;doc\n" for i in range(3)
    )
    path = write(
        tmp_path / "annuaire.csv",
        HEADER
        + good
        + "B1;Couveuse;couveuse;46102;;;creation;;;doc\n"  # 5: unknown type
        + "B2;Pépinière;pepiniere;99999;;;creation;;;doc\n"  # 6: unknown commune
        + "B3;Pépinière;pepiniere;46102;;;croissance;;;doc\n"  # 7: unknown phase
        + "B4;Pépinière;pepiniere;46102;48,85;2,35;creation;;;doc\n"  # 8: Paris
        + "B5;Pépinière;pepiniere;46102;44,6;;creation;;;doc\n"  # 9: no longitude
        + "B6;Pépinière;pepiniere;46102;;;creation;32/13/2020;;doc\n"  # 10: bad date
        + "B7;Pépinière;pepiniere;46102;;;creation;2020;2019;doc\n"  # 11: closed first
        + "OK-1;Doublon;pepiniere;46102;;;creation;;;doc\n"  # 12: duplicate id
        + "B8;;pepiniere;46102;;;creation;;;doc\n"  # 13: no name
        # 14: fine (a label for the type and phase, a code without its zero)
        + "B9;Tiers-lieu de Figeac;Tiers-lieu;1053;;;Post-création (0-3 ans);;;doc\n",
    )
    report = ingest([path], db_path=db, max_reject_rate=1.0)[0]
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (13, 4, 9)
    rejects = query(db, 'SELECT line, "column", value, reason FROM rejects ORDER BY line')
    assert rejects["line"].tolist() == list(range(5, 14))
    expected = [
        ("type", "couveuse", "type inconnu"),
        ("code_commune", "99999", "commune inconnue"),
        ("phases", "croissance", "phase inconnue"),
        ("latitude", "48,85", "coordonnées à "),
        ("longitude", None, "latitude et longitude vont ensemble"),
        ("date_ouverture", "32/13/2020", "date invalide"),
        ("date_fermeture", "2019", "date de fermeture antérieure à la date d'ouverture"),
        ("identifiant", "OK-1", "identifiant en double (déjà à la ligne 3)"),
        ("nom", None, "valeur obligatoire manquante"),
    ]
    for (_, row), (column, value, reason) in zip(rejects.iterrows(), expected):
        assert row["column"] == column and row["reason"].startswith(reason), row.to_dict()
        assert (row["value"] if isinstance(row["value"], str) else None) == value
    far = re.match(
        r"coordonnées à (\d+) km de la commune 46102 \(plus de 30 km\)", rejects["reason"][3]
    )
    figeac = reference.communes().set_index("code").loc["46102", "geometry"]
    assert int(far.group(1)) == pytest.approx(
        Geod(ellps="WGS84").inv(figeac.x, figeac.y, 2.35, 48.85)[2] / 1000, abs=3
    )
    fine = query(db, "SELECT * FROM support_structures WHERE structure_id = 'B9'").iloc[0]
    assert (fine["structure_type"], fine["commune_code"]) == ("tiers_lieu", "01053")
    assert fine["phase_post_creation"] and not fine["phase_creation"]
    listed = run_cli("rejects", "--source", "structures", "--db", str(db))
    assert listed.returncode == 0 and "commune inconnue" in listed.stdout


def test_a_structure_given_a_merged_commune_is_placed_in_its_current_commune(db, tmp_path):
    """Ciel (71131) is part of Verdun-Ciel (71566) since 2025."""
    path = write(
        tmp_path / "annuaire.csv", HEADER + "C1;Pépinière;pepiniere;71131;;;creation;;;doc\n"
    )
    assert ingest([path], db_path=db)[0].rows_rejected == 0
    placed = query(db, "SELECT commune_code FROM support_structures WHERE structure_id = 'C1'")
    assert placed.commune_code.tolist() == ["71566"]


def test_a_file_of_mostly_bad_rows_is_refused_and_nothing_changes(db, tmp_path):
    path = write(
        tmp_path / "annuaire.csv",
        HEADER
        + "X1;Nom;inconnu;46102;;;creation;;;doc\n"
        + "X2;Nom;pepiniere;46102;;;creation;;;doc\n",
    )
    before = query(db, "SELECT count(*) AS n FROM support_structures")["n"][0]
    with pytest.raises(
        IngestError,
        match=r"annuaire.csv : 1 lignes rejetées sur 2 .*ligne 2, "
        r"colonne type, valeur « inconnu » : type inconnu",
    ):
        ingest([path], db_path=db)
    assert query(db, "SELECT count(*) AS n FROM support_structures")["n"][0] == before


def test_a_reload_replaces_the_structure_with_the_same_identifier(db, tmp_path):
    first = write(
        tmp_path / "v1.csv", HEADER + "S1;Pépinière du Lot;pepiniere;46042;;;creation;;;doc\n"
    )
    second = write(
        tmp_path / "v2.csv",
        HEADER + "S1;Pépinière du Lot;pepiniere;46102;;;"
        "creation|post_creation;2024;;doc\n"
        "OCC-CATALIS;Catalis;incubateur;31555;;;emergence;2013;;doc CRESS\n",
    )
    ingest([first], db_path=db)
    ingest([second], db_path=db)
    rows = query(
        db,
        "SELECT * FROM support_structures WHERE structure_id IN ('S1', 'OCC-CATALIS')"
        " ORDER BY structure_id",
    )
    assert rows["commune_code"].tolist() == ["31555", "46102"]
    assert rows["source"].tolist() == ["doc CRESS", "doc"]  # an embedded entry updated
    assert query(db, "SELECT count(*) AS n FROM support_structures")["n"][0] == 15


def test_an_excel_directory_loads_too(db, tmp_path):
    rows = pd.read_csv(TEMPLATE, sep=";", dtype=str, keep_default_na=False)
    path = tmp_path / "annuaire.xlsx"
    rows.to_excel(path, index=False)
    report = ingest([path], db_path=db, source="structures")[0]
    assert (report.rows_read, report.rows_rejected) == (4, 0)


def test_the_directory_is_not_loaded_into_a_demo_warehouse(warehouse_path, tmp_path):
    result = run_cli("ingest", str(TEMPLATE), "--db", str(warehouse_path))
    assert result.returncode == 1
    assert "Données de démonstration".lower() in result.stderr.lower()
