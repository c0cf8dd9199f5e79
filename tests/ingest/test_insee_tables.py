"""INSEE's ITDD workbook: a régions block then a départements block, titles, empty Mayotte."""

from __future__ import annotations

import re
import zipfile

import openpyxl
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


def workbook_with_formulas(path):
    """An INSEE-style workbook written as a spreadsheet leaves it: an error cell, a formula it
    computed (its value is stored: 13,5) and one it never computed (no value stored)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Economie"
    for row in (
        ["Indicateurs territoriaux"],
        ["DEPARTEMENTS"],
        [None, None, "Part de l'ESS dans l'emploi salarié (%)", None, "Postes salariés"],
        [None, "Année", 2021, 2022, 2022],
        ["34", "Hérault", 12.5, "#DIV/0!", 100],
        ["30", "Gard", "=C5*2", 9.5, 200],
        ["31", "Haute-Garonne", 11, "=C5+1", 300],
        ["11", "Aude", "#N/A", 10, 400],
    ):
        sheet.append(row)
    book.save(path)
    with zipfile.ZipFile(path) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    xml = files["xl/worksheets/sheet1.xml"].decode()
    computed = re.sub(r'(<c r="D7"[^>]*><f>[^<]*</f>)<v\s*/>', r"\1<v>13.5</v>", xml)
    assert computed != xml
    files["xl/worksheets/sheet1.xml"] = computed.encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def test_error_cells_and_formulas_never_computed_are_rejected_with_their_cell(db, tmp_path):
    path = workbook_with_formulas(tmp_path / "tableau_insee.xlsx")
    report = ingest([path], db_path=db, max_reject_rate=1)[0]
    rejects = query(db, 'SELECT line, "column", value, reason FROM rejects ORDER BY line')
    assert rejects[["line", "column", "value"]].values.tolist() == [
        [5, "D", "#DIV/0!"],
        [6, "C", "=C5*2"],
        [8, "C", "#N/A"],
    ]
    assert rejects.reason[0].startswith("cellule en erreur dans le tableur (#DIV/0!)")
    assert rejects.reason[1].startswith("formule jamais calculée")
    assert report.rows_rejected == 3
    share = query(
        db,
        "SELECT code, year, value FROM published_figures WHERE measure LIKE '%Part%' ORDER BY ALL",
    ).values.tolist()
    assert share == [
        ["11", 2022, 10.0],
        ["30", 2022, 9.5],
        ["31", 2021, 11.0],
        ["31", 2022, 13.5],
        ["34", 2021, 12.5],
    ]


def test_shares_out_of_0_to_100_are_rejected_but_not_changes(db, tmp_path):
    table = write(
        tmp_path / "tableau_insee.csv",
        ";;Part de l'ESS (%);Évolution des postes (%);Postes\nDEPARTEMENTS;;;;\n"
        ";Année;2021;2021;2021\n"
        "34;Hérault;150;-3;10\n30;Gard;-3;150;20\n31;Haute-Garonne;12,1;2,5;30\n",
    )
    ingest([table], db_path=db, max_reject_rate=1)
    rejects = query(db, 'SELECT line, "column", value, reason FROM rejects ORDER BY line')
    assert rejects.values.tolist() == [
        [4, "C", "150", "valeur supérieure à 100"],
        [5, "C", "-3", "valeur négative"],
    ]
    changes = query(
        db, "SELECT value FROM published_figures WHERE measure LIKE 'Évolution%' ORDER BY value"
    )
    assert changes.value.tolist() == [-3.0, 2.5, 150.0]
