"""INSEE's ITDD workbook: a régions block then a départements block, titles, empty Mayotte."""

from __future__ import annotations

import pandas as pd
from ingest_helpers import query, write

from observatory.ingest import ingest

ESS_SHARE = "Economie : Poids de l'économie sociale dans les emplois salariés du territoire (%)"


def test_itdd_ess_share_by_region_and_departement(db, real_data):
    workbook = real_data / "insee" / "ITDD-DonneesDetaillees.xls"
    report = ingest([workbook], db_path=db)[0]
    assert report.rows_rejected == 0 and report.rows_read == report.rows_loaded
    figures = query(
        db,
        "SELECT level, code, year, value, marker FROM published_figures "
        "WHERE source = 'insee' AND measure = ?",
        [ESS_SHARE],
    )
    share = figures.set_index(["level", "code", "year"])["value"]
    # Independently: the sheet read with pandas, column M (2014) of each block.
    sheet = pd.read_excel(workbook, sheet_name="Economie", header=None, dtype=object)
    regions = sheet.iloc[6:26].dropna(subset=[12]).set_index(0)[12]
    regions = regions[~regions.index.isin(["P", "M", "F"])]
    departements = sheet.iloc[35:137].dropna(subset=[12]).set_index(0)[12]
    departements = departements[~departements.index.isin(["P", "M"])]
    for code, value in regions.items():
        assert share["region", str(code).zfill(2), 2014] == value
    for code, value in departements.items():
        assert share["departement", str(code).zfill(2), 2014] == value
    assert share["region", "75", 2014] == 11.9  # Nouvelle-Aquitaine
    assert round(share["departement", "75", 2014], 1) == 9.0  # Paris, same code, other block
    assert share["france", "FR", 2014] == 10.5
    mayotte = figures[(figures.code == "976") & (figures.level == "departement")]
    assert mayotte.value.isna().all() and set(mayotte.marker) == {"vide"}
    assert len(figures[figures.level == "departement"].code.unique()) == 101


def test_markers_keep_their_meaning(db, tmp_path):
    table = write(
        tmp_path / "tableau_insee.csv",
        "Effectifs de l'ESS;;;\nDEPARTEMENTS;;;\n;;Postes;\n;Année;2021;2022\n"
        "34;Hérault;1\u00a0234;s\n2A;Corse-du-Sud;nd;-\n",
        encoding="cp1252",
    )
    report = ingest([table], db_path=db)[0]
    assert report.rows_rejected == 0
    got = query(db, "SELECT code, year, value, marker FROM published_figures ORDER BY code, year")
    assert got.marker.fillna("").tolist() == [
        "nd",
        "-",
        "",
        "s",
    ]  # 2A 2021, 2A 2022, 34 2021, 34 2022
    assert got.value.isna().tolist() == [True, True, False, True]
    assert got.value[2] == 1234  # « 1 234 », no-break space read as a thousands separator
