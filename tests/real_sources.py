"""Warehouses holding one real source each (or a few), built as a CRESS analyst builds them:
``observatory build --no-demo`` (the session's empty warehouse), then ``observatory ingest``.

The small SIRENE, Urssaf, CRESS and ESS France files are written here with the real layouts;
INSEE's table is the real ITDD workbook of tests/data/real."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from conftest import REAL_DATA

from observatory.ingest import ingest

ITDD = REAL_DATA / "insee" / "ITDD-DonneesDetaillees.xls"
# SIRENE 2023 in Montpellier (34172): 6 associations of 20 to 49 employees (band 12, midpoint
# 34,5) and 3 coopératives of 3 to 5 (band 02, midpoint 4), both ESS; 4 companies of 6 to 9
# (band 03) and a public body of 50 to 99 (band 21) outside it.
SIRENE_UNITS = [(100000000 + i, "9220") for i in range(6)] + [
    *((200000000 + i, "5458") for i in range(3)),
    *((300000000 + i, "5710") for i in range(4)),
    (400000000, "7210"),
]
SIRENE_BANDS = {"9220": ("12", "88.10A"), "5458": ("02", "62.01Z"), "5710": ("03", "62.01Z")}
SIRENE_ESS_EMPLOYEES = 6 * 34.5 + 3 * 4.0
SIRENE_ESS_ESTABLISHMENTS = 9
SOURCES = ("sirene", "insee", "urssaf", "cress", "essfrance")
CRESS_EXAMPLE = (
    "region;76;2023;ESS;;etablissements;23 412\n"
    "departement;34;2023;ESS;;etablissements;9 000\n"
    "departement;34;2023;ESS;;postes_salaries;98 000\n"
)
# A CRESS's raw counts for Hérault, 2023: mutuelles with 2 establishments, fondations marked
# secret and the other organisations not available by the CRESS, the associations of sector 88
# secret.
CRESS_SECRET = (
    "departement;34;2023;ESS;;etablissements;100\n"
    "departement;34;2023;ASSO;;etablissements;90\n"
    "departement;34;2023;COOP;;etablissements;8\n"
    "departement;34;2023;MUT;;etablissements;2\n"
    "departement;34;2023;ESS;;postes_salaries;1 000\n"
    "departement;34;2023;ASSO;;postes_salaries;900\n"
    "departement;34;2023;COOP;;postes_salaries;80\n"
    "departement;34;2023;MUT;;postes_salaries;20\n"
    "departement;34;2023;MUT;;part_emploi_salarie_pct;0,1\n"
    "departement;34;2023;FOND;;postes_salaries;s\n"
    "departement;34;2023;AUTRE;;postes_salaries;nd\n"
    "departement;34;2023;ESS;88;postes_salaries;500\n"
    "departement;34;2023;ASSO;88;postes_salaries;s\n"
)
URSSAF_HEADER = (
    "region;champ_ess;famille_ess;secteur_na88;annee;code_region;nombre_d_etablissements;"
    "effectifs_salaries_moyens;masse_salariale\n"
)
# Urssaf's open ESS dataset for Occitanie (76), 2021 and 2022: établissements, effectifs
# salariés moyens and masse salariale by family, and the 2022 total of sector 88.
URSSAF_ROWS = {
    (2021, "Total", ""): (23_100, 212_000, 6_100_000_000),
    (2021, "Associations", ""): (18_700, 160_000, 4_300_000_000),
    (2021, "Coopératives", ""): (2_850, 30_000, 1_000_000_000),
    (2022, "Total", ""): (23_412, 214_000, 6_300_000_000),
    (2022, "Associations", ""): (18_950, 161_500, 4_400_000_000),
    (2022, "Coopératives", ""): (2_870, 30_500, 1_050_000_000),
    (2022, "Total", "88 Action sociale sans hébergement"): (5_000, 60_000, 1_300_000_000),
}


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def sirene_files(folder: Path) -> list[Path]:
    units = write(
        folder / "StockUniteLegale_2023.csv",
        "siren,etatAdministratifUniteLegale,categorieJuridiqueUniteLegale\n"
        + "".join(f"{siren},A,{category}\n" for siren, category in SIRENE_UNITS),
    )
    lines = []
    for siren, category in SIRENE_UNITS:
        band, naf = SIRENE_BANDS.get(category, ("21", "84.11Z"))
        lines.append(f"{siren},{siren}00011,A,O,{band},34172,{naf}\n")
    establishments = write(
        folder / "StockEtablissement_2023.csv",
        "siren,siret,etatAdministratifEtablissement,caractereEmployeurEtablissement,"
        "trancheEffectifsEtablissement,codeCommuneEtablissement,activitePrincipaleEtablissement\n"
        + "".join(lines),
    )
    return [establishments, units]


def urssaf_file(folder: Path) -> Path:
    rows = "".join(
        f"Occitanie;ESS;{family};{sector};{year};76;{n};{employees};{wages}\n"
        for (year, family, sector), (n, employees, wages) in URSSAF_ROWS.items()
    )
    return write(folder / "urssaf-ess.csv", URSSAF_HEADER + rows)


def cress_file(folder: Path, rows: str) -> Path:
    return write(folder / "cress.csv", "niveau;code;annee;famille;secteur;mesure;valeur\n" + rows)


def essfrance_file(folder: Path) -> Path:
    return write(folder / "liste_ess_france.csv", "SIREN\n987654321\n")


def source_files(source: str, folder: Path) -> list[Path]:
    """The files of one source, written in ``folder`` (INSEE: the real workbook)."""
    if source == "sirene":
        return sirene_files(folder)
    if source == "insee":
        return [ITDD]
    if source == "urssaf":
        return [urssaf_file(folder)]
    if source == "cress":
        return [cress_file(folder, CRESS_EXAMPLE)]
    return [essfrance_file(folder)]


def warehouse_with(empty: Path, folder: Path, files: list[Path], **options) -> Path:
    """A copy of the empty warehouse into which ``files`` are ingested."""
    target = folder / "observatory.duckdb"
    shutil.copy(empty, target)
    ingest(files, db_path=target, **options)
    return target


@contextlib.contextmanager
def dashboards_on(db: Path):
    """The dashboards' kernel-wide warehouse pointed at ``db`` for the block."""
    from observatory.dashboards import common

    cached = (common.warehouse, common.territory_index)
    before = os.environ.get("OBSERVATORY_DB")
    os.environ["OBSERVATORY_DB"] = str(db)
    for function in cached:
        function.cache_clear()
    try:
        yield common.warehouse()
    finally:
        common.warehouse().close()
        for function in cached:
            function.cache_clear()
        if before is None:
            os.environ.pop("OBSERVATORY_DB")
        else:
            os.environ["OBSERVATORY_DB"] = before
