"""Urssaf's open ESS dataset: families, sectors, totals checked against their detail."""

from __future__ import annotations

import pytest
from ingest_helpers import query, write

from observatory.ingest import IngestError, ingest

HEADER = (
    "region;champ_ess;famille_ess;secteur_na88;annee;code_region;nombre_d_etablissements;"
    "effectifs_salaries_moyens;masse_salariale\n"
)


def test_urssaf_export_loads_by_region_family_and_sector(db, tmp_path):
    path = write(
        tmp_path / "urssaf-ess.csv",
        HEADER
        + "Occitanie;ESS;Associations;88 Action sociale sans hébergement;2022;76;1 200;15 000,5;400 000 000\n"
        + "Occitanie;ESS;Coopératives;88 Action sociale sans hébergement;2022;76;10;100;3 000 000\n"
        + "Occitanie;ESS;Total;88 Action sociale sans hébergement;2022;76;1 210;15 100,5;403 000 000\n"
        + "Occitanie;Hors ESS;;88 Action sociale sans hébergement;2022;76;800;9 000;250 000 000\n",
        newline="\r\n",
    )
    report = ingest([path], db_path=db)[0]
    assert (report.source, report.rows_read, report.rows_rejected) == ("urssaf", 12, 0)
    got = query(
        db,
        "SELECT family_code, value FROM published_figures WHERE measure = 'effectifs_salaries_moyens' "
        "AND level = 'region' AND code = '76' AND year = 2022 AND sector_code = '88' ORDER BY 1",
    )
    assert got.values.tolist() == [
        ["ASSO", 15000.5],
        ["COOP", 100.0],
        ["ESS", 15100.5],
        ["HORS_ESS", 9000.0],
    ]


def test_a_total_smaller_than_its_detail_is_rejected(db, tmp_path):
    rows = "".join(f"R;ESS;Associations;01;{year};76;10;100;1000\n" for year in range(1983, 2022))
    path = write(tmp_path / "urssaf.csv", HEADER + rows + "R;ESS;Total;01;2021;76;5;100;1000\n")
    report = ingest([path], db_path=db)[0]
    rejects = query(db, 'SELECT line, "column", value, reason FROM rejects')
    assert rejects.values.tolist() == [
        [
            41,
            "nombre_d_etablissements",
            "5",
            "le total de l'ESS est inférieur à la somme de ses familles (10.0)",
        ]
    ]
    assert report.rows_read == report.rows_loaded + report.rows_rejected == 120


def test_negative_and_non_numeric_counts_are_rejected_and_fail_the_load(db, tmp_path):
    path = write(tmp_path / "urssaf.csv", HEADER + "R;ESS;Associations;01;2022;76;-3;abc;1000\n")
    with pytest.raises(IngestError) as error:
        ingest([path], db_path=db)
    message = str(error.value)
    assert (
        "urssaf.csv, ligne 2, colonne nombre_d_etablissements, valeur « -3 » : valeur négative"
        in message
    )
    assert "colonne effectifs_salaries_moyens, valeur « abc » : valeur non numérique" in message
    assert query(db, "SELECT count(*) AS n FROM published_figures").n[0] == 0
