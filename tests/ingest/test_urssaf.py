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


def ess_figures(db, level: str, code: str) -> dict:
    got = query(
        db,
        "SELECT coalesce(family_code, '-') AS family, sum(value) AS n FROM published_figures "
        f"WHERE measure = 'etablissements' AND level = '{level}' AND code = '{code}' GROUP BY 1",
    )
    return dict(zip(got.family, got.n))


def test_champ_ess_oui_non_as_urssaf_exports_it(db, tmp_path):
    """The open.urssaf.fr export writes « OUI » / « NON » in champ_ess; rows outside the ESS
    count outside it whatever their family column says (empty, « Total », « Hors ESS »)."""
    rows = [
        ("OUI", "Associations", "88", 1200),
        ("OUI", "Coopératives", "88", 10),
        ("NON", "", "88", 800),
        ("non", "Total", "87", 300),
        ("NON", "Hors ESS", "86", 40),
    ]
    path = write(
        tmp_path / "urssaf.csv",
        HEADER + "".join(f"Occitanie;{c};{f};{s};2022;76;{n};1;1\n" for c, f, s, n in rows),
    )
    report = ingest([path], db_path=db)[0]
    assert report.rows_rejected == 0
    inside = sum(n for c, *_, n in rows if c.upper() == "OUI")
    outside = sum(n for c, *_, n in rows if c.upper() == "NON")
    figures = ess_figures(db, "region", "76")
    assert figures == {"ASSO": 1200, "COOP": 10, "HORS_ESS": outside}
    assert sum(v for k, v in figures.items() if k != "HORS_ESS") == inside


@pytest.mark.parametrize(
    "champ, family, reason",
    [
        ("PEUT-ETRE", "Associations", "champ de l'ESS non reconnu (attendu OUI ou NON, ESS ou Hors ESS)"),
        ("", "Associations", "champ de l'ESS non reconnu (attendu OUI ou NON, ESS ou Hors ESS)"),
        ("NON", "Associations", "ligne hors du champ de l'ESS (NON) dont la famille est une famille de l'ESS"),
        ("OUI", "Hors ESS", "ligne du champ de l'ESS (OUI) dont la famille est « Hors ESS »"),
    ],
)  # fmt: skip
def test_a_champ_ess_value_not_understood_is_refused_never_counted_as_ess(
    db, tmp_path, champ, family, reason
):
    path = write(
        tmp_path / "urssaf.csv", HEADER + f"Occitanie;{champ};{family};88;2022;76;800;9;9\n"
    )
    with pytest.raises(IngestError) as error:
        ingest([path], db_path=db)
    shown = f"« {champ} »" if champ else "(vide)"
    assert f"urssaf.csv, ligne 2, colonne champ_ess, valeur {shown} : {reason}" in str(error.value)
    assert query(db, "SELECT count(*) AS n FROM published_figures").n[0] == 0


NATIONAL_HEADER = (
    "champ_ess;famille_ess;grand_secteur_d_activite;secteur_na88;annee;"
    "nombre_d_etablissements;effectifs_salaries_moyens;masse_salariale\n"
)


def test_the_national_dataset_loads_at_the_level_of_france(db, tmp_path):
    """``…-ess-france-x-na88``: no région column, a « Grand secteur d'activité » column."""
    rows = [
        ("OUI", "Associations", "GS5 Autres services", "88 Action sociale sans hébergement", 2022, 70000),
        ("OUI", "Mutuelles", "GS5 Autres services", "65 Assurance", 2022, 1500),
        ("NON", "Hors ESS", "GS5 Autres services", "88 Action sociale sans hébergement", 2022, 9000),
        ("OUI", "Associations", "GS5 Autres services", "88 Action sociale sans hébergement", 2023, 71000),
    ]  # fmt: skip
    path = write(
        tmp_path / "nombre-etab-effectifs-salaries-et-masse-salariale-ess-france-x-na88.csv",
        NATIONAL_HEADER + "".join(f"{c};{f};{g};{s};{y};{n};{n * 9};{n * 30000}\n" for c, f, g, s, y, n in rows),
    )  # fmt: skip
    report = ingest([path], db_path=db)[0]
    assert (report.source, report.rows_read, report.rows_rejected) == ("urssaf", 12, 0)
    got = query(
        db,
        "SELECT level, code, year, family_code, sector_code, value FROM published_figures "
        "WHERE measure = 'etablissements' ORDER BY year, family_code",
    )
    assert got.values.tolist() == [
        ["france", "FR", 2022, "ASSO", "88", 70000.0],
        ["france", "FR", 2022, "HORS_ESS", "88", 9000.0],
        ["france", "FR", 2022, "MUT", "65", 1500.0],
        ["france", "FR", 2023, "ASSO", "88", 71000.0],
    ]
    shown = query(
        db,
        "SELECT year, sum(value) AS n FROM published_indicators WHERE indicator = "
        "'urssaf_establishments' AND level = 'france' GROUP BY 1 ORDER BY 1",
    )
    assert shown.values.tolist() == [[2022, 71500.0], [2023, 71000.0]]  # outside the ESS left out
