"""Rebuild the recorded answers of this folder (README.md says where each shape comes from).

    .venv/bin/python tests/data/recorded/build.py

The stand-in file bodies are small and deterministic; their sizes and checksums are written into
the recorded metadata, as the publishers write those of the real files.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
REAL = HERE.parent / "real" / "sirene" / "StockEtablissement_extract_2021-11_part1.csv"
DATAGOUV = HERE / "www.data.gouv.fr" / "api" / "1" / "datasets"
SIRENE_FILES = HERE / "object.files.data.gouv.fr" / "data-pipeline-open" / "siren" / "stock"
ESS_FILE = (
    HERE
    / "static.data.gouv.fr"
    / "resources"
    / "liste-des-entreprises-de-less"
    / "20231120-102604"
    / "entreprisesess.csv"
)
URSSAF_ID = "nombre-etab-effectifs-salaries-et-masse-salariale-ess-regions-x-na88"
URSSAF_NATIONAL_ID = "nombre-etab-effectifs-salaries-et-masse-salariale-ess-france-x-na88"
URSSAF = HERE / "open.urssaf.fr" / "api" / "explore" / "v2.1" / "catalog" / "datasets"

# Columns and types of the stock files as published since the 3.11 layout (2024) with the NAF
# 2025 columns: datagouv/datagouvfr_data_pipelines, data_processing/insee/sirene/stock/config/
# config_stock.json (the types are those of data.gouv.fr's Parquet conversion).
ESTABLISHMENT_TYPES = {
    "siren": "VARCHAR",
    "nic": "VARCHAR",
    "siret": "VARCHAR",
    "statutDiffusionEtablissement": "VARCHAR",
    "dateCreationEtablissement": "DATE",
    "trancheEffectifsEtablissement": "VARCHAR",
    "anneeEffectifsEtablissement": "BIGINT",
    "activitePrincipaleRegistreMetiersEtablissement": "VARCHAR",
    "dateDernierTraitementEtablissement": "TIMESTAMP",
    "etablissementSiege": "BOOLEAN",
    "nombrePeriodesEtablissement": "BIGINT",
    "complementAdresseEtablissement": "VARCHAR",
    "numeroVoieEtablissement": "VARCHAR",
    "indiceRepetitionEtablissement": "VARCHAR",
    "dernierNumeroVoieEtablissement": "VARCHAR",
    "indiceRepetitionDernierNumeroVoieEtablissement": "VARCHAR",
    "typeVoieEtablissement": "VARCHAR",
    "libelleVoieEtablissement": "VARCHAR",
    "codePostalEtablissement": "VARCHAR",
    "libelleCommuneEtablissement": "VARCHAR",
    "libelleCommuneEtrangerEtablissement": "VARCHAR",
    "distributionSpecialeEtablissement": "VARCHAR",
    "codeCommuneEtablissement": "VARCHAR",
    "codeCedexEtablissement": "VARCHAR",
    "libelleCedexEtablissement": "VARCHAR",
    "codePaysEtrangerEtablissement": "VARCHAR",
    "libellePaysEtrangerEtablissement": "VARCHAR",
    "identifiantAdresseEtablissement": "VARCHAR",
    "coordonneeLambertAbscisseEtablissement": "VARCHAR",
    "coordonneeLambertOrdonneeEtablissement": "VARCHAR",
    "complementAdresse2Etablissement": "VARCHAR",
    "numeroVoie2Etablissement": "VARCHAR",
    "indiceRepetition2Etablissement": "VARCHAR",
    "typeVoie2Etablissement": "VARCHAR",
    "libelleVoie2Etablissement": "VARCHAR",
    "codePostal2Etablissement": "VARCHAR",
    "libelleCommune2Etablissement": "VARCHAR",
    "libelleCommuneEtranger2Etablissement": "VARCHAR",
    "distributionSpeciale2Etablissement": "VARCHAR",
    "codeCommune2Etablissement": "VARCHAR",
    "codeCedex2Etablissement": "VARCHAR",
    "libelleCedex2Etablissement": "VARCHAR",
    "codePaysEtranger2Etablissement": "VARCHAR",
    "libellePaysEtranger2Etablissement": "VARCHAR",
    "dateDebut": "DATE",
    "etatAdministratifEtablissement": "VARCHAR",
    "enseigne1Etablissement": "VARCHAR",
    "enseigne2Etablissement": "VARCHAR",
    "enseigne3Etablissement": "VARCHAR",
    "denominationUsuelleEtablissement": "VARCHAR",
    "activitePrincipaleEtablissement": "VARCHAR",
    "nomenclatureActivitePrincipaleEtablissement": "VARCHAR",
    "caractereEmployeurEtablissement": "VARCHAR",
    "activitePrincipaleNAF25Etablissement": "VARCHAR",
}
UNIT_TYPES = {
    "siren": "VARCHAR",
    "statutDiffusionUniteLegale": "VARCHAR",
    "unitePurgeeUniteLegale": "BOOLEAN",
    "dateCreationUniteLegale": "DATE",
    "sigleUniteLegale": "VARCHAR",
    "sexeUniteLegale": "VARCHAR",
    "prenom1UniteLegale": "VARCHAR",
    "prenom2UniteLegale": "VARCHAR",
    "prenom3UniteLegale": "VARCHAR",
    "prenom4UniteLegale": "VARCHAR",
    "prenomUsuelUniteLegale": "VARCHAR",
    "pseudonymeUniteLegale": "VARCHAR",
    "identifiantAssociationUniteLegale": "VARCHAR",
    "trancheEffectifsUniteLegale": "VARCHAR",
    "anneeEffectifsUniteLegale": "BIGINT",
    "dateDernierTraitementUniteLegale": "TIMESTAMP",
    "nombrePeriodesUniteLegale": "BIGINT",
    "categorieEntreprise": "VARCHAR",
    "anneeCategorieEntreprise": "BIGINT",
    "dateDebut": "DATE",
    "etatAdministratifUniteLegale": "VARCHAR",
    "nomUniteLegale": "VARCHAR",
    "nomUsageUniteLegale": "VARCHAR",
    "denominationUniteLegale": "VARCHAR",
    "denominationUsuelle1UniteLegale": "VARCHAR",
    "denominationUsuelle2UniteLegale": "VARCHAR",
    "denominationUsuelle3UniteLegale": "VARCHAR",
    "categorieJuridiqueUniteLegale": "BIGINT",
    "activitePrincipaleUniteLegale": "VARCHAR",
    "nomenclatureActivitePrincipaleUniteLegale": "VARCHAR",
    "nicSiegeUniteLegale": "VARCHAR",
    "economieSocialeSolidaireUniteLegale": "VARCHAR",
    "societeMissionUniteLegale": "VARCHAR",
    "caractereEmployeurUniteLegale": "VARCHAR",
    "activitePrincipaleNAF25UniteLegale": "VARCHAR",
}
ESS_HEADER = [
    "SIREN",
    "Nom ou raison sociale de l'entreprise",
    "Famille juridique de l'entreprise",
    "Code postal",
    "Libellé de la commune de l'établissement",
    "Code du département de l'établissement",
    "Département de l'établissement",
    "Région de l'établissement",
]
# The first rows of the real list as shown by augustindeche-bit/ess-numerique-database
# (notebooks/Etudes globales/exploration_data_csv.ipynb): the SIREN is written without its
# leading zeros (5720610), which the Annuaire des entreprises pads back (zfill(9)).
ESS_REAL_ROWS = [
    [
        "5720610",
        "PICARDIE MARITIME HABITAT FONDATION PAUL DUCLERCQ",
        "Coopératives",
        "80100",
        "ABBEVILLE",
        "80",
        "SOMME",
        "HAUTS DE FRANCE",
    ],
    [
        "303040307",
        "UNION NATIONALE DES A C",
        "Associations",
        "80300",
        "MIRAUMONT",
        "80",
        "SOMME",
        "HAUTS DE FRANCE",
    ],
    [
        "330275801",
        "CUMA PORCINE GUADELOUPE",
        "Coopératives",
        "97122",
        "BAIE-MAHAULT",
        "971",
        "GUADELOUPE",
        "GUADELOUPE",
    ],
]
URSSAF_FIELDS = [
    ("region", "Région", "text"),
    ("champ_ess", "« Champ ESS »", "text"),
    ("famille_ess", "Famille ESS", "text"),
    ("secteur_na88", "Secteur NA88", "text"),
    ("annee", "Année", "date"),
    ("code_region", "Code région", "text"),
    ("nombre_d_etablissements", "Nombre d'établissements", "double"),
    ("effectifs_salaries_moyens", "Effectifs salariés moyens", "double"),
    ("masse_salariale", "Masse salariale (brute)", "double"),
]
# The national dataset: no région, a « Grand secteur d'activité » (labels read by La Société
# Nouvelle's R code; names as open.urssaf.fr derives them from labels, as in its other datasets).
URSSAF_NATIONAL_FIELDS = [
    ("champ_ess", "« Champ ESS »", "text"),
    ("famille_ess", "Famille ESS", "text"),
    ("grand_secteur_d_activite", "Grand secteur d'activité", "text"),
    ("secteur_na88", "Secteur NA88", "text"),
    ("annee", "Année", "date"),
    ("nombre_d_etablissements", "Nombre d'établissements", "double"),
    ("effectifs_salaries_moyens", "Effectifs salariés moyens", "double"),
    ("masse_salariale", "Masse salariale (brute)", "double"),
]
VINTAGE_DAY = "2026-03-01"
SIRENE_TITLE_DATE = "01 Mars 2026"


def main() -> None:
    establishments, units = sirene_rows()
    sirene = {}
    for stock, types, rows in (
        ("StockEtablissement", ESTABLISHMENT_TYPES, establishments),
        ("StockUniteLegale", UNIT_TYPES, units),
    ):
        text = csv_text(list(types), rows)
        sirene[(stock, "zip")] = write(SIRENE_FILES / f"{stock}_utf8.zip", zipped(stock, text))
        sirene[(stock, "parquet")] = write(
            SIRENE_FILES / f"{stock}_utf8.parquet", parquet(text, types)
        )
    write_json(DATAGOUV / "5b7ffc618b4c4169d30727e0.json", sirene_dataset(sirene))
    ess_rows = ESS_REAL_ROWS + [
        [str(int(row[0])), "", "Associations", "", "", "", "", ""]
        for row in units
        if row[-4] == "O"
    ]
    ess = write(ESS_FILE, csv_text(ESS_HEADER, ess_rows).encode("utf-8"))
    write_json(DATAGOUV / "646c8d45de96cc3428092c6b.json", essfrance_dataset(ess))
    export = write(URSSAF / URSSAF_ID / "exports" / "csv", urssaf_export())
    write_json(URSSAF / f"{URSSAF_ID}.json", urssaf_dataset(export))
    export = write(URSSAF / URSSAF_NATIONAL_ID / "exports" / "csv", urssaf_national_export())
    write_json(URSSAF / f"{URSSAF_NATIONAL_ID}.json", urssaf_national_dataset(export))
    write_json(HERE / "routes.json", routes())


def routes() -> dict:
    """What the tests' server answers: URL path → recorded file (below this folder) and its
    Content-Type, as the publishers send them."""
    table = {
        "/api/1/datasets/5b7ffc618b4c4169d30727e0/": (
            "www.data.gouv.fr/api/1/datasets/5b7ffc618b4c4169d30727e0.json",
            "application/json",
        ),
        "/api/1/datasets/646c8d45de96cc3428092c6b/": (
            "www.data.gouv.fr/api/1/datasets/646c8d45de96cc3428092c6b.json",
            "application/json",
        ),
        "/resources/liste-des-entreprises-de-less/20231120-102604/entreprisesess.csv": (
            str(ESS_FILE.relative_to(HERE)),
            "text/csv",
        ),
    }
    for dataset in (URSSAF_ID, URSSAF_NATIONAL_ID):
        path = f"/api/explore/v2.1/catalog/datasets/{dataset}"
        table[path] = (f"open.urssaf.fr{path}.json", "application/json; charset=utf-8")
        table[path + "/exports/csv"] = (
            f"open.urssaf.fr{path}/exports/csv",
            "text/csv; charset=utf-8",
        )
    for stock in ("StockEtablissement", "StockUniteLegale"):
        for kind, mime in (("zip", "application/zip"), ("parquet", "application/octet-stream")):
            path = SIRENE_FILES / f"{stock}_utf8.{kind}"
            table[f"/data-pipeline-open/siren/stock/{path.name}"] = (
                str(path.relative_to(HERE)),
                mime,
            )
    return {url: dict(file=file, content_type=kind) for url, (file, kind) in table.items()}


def sirene_rows() -> tuple[list[list[str]], list[list[str]]]:
    """Real establishments of the 2021 extract (active employers of NAF rév. 2 first, then a
    few closed ones), in today's columns; stand-in unités légales for their SIRENs."""
    with REAL.open(encoding="utf-8", newline="") as handle:
        real = list(csv.DictReader(handle))
    active = [
        r
        for r in real
        if r["etatAdministratifEtablissement"] == "A"
        and r["caractereEmployeurEtablissement"] == "O"
        and r["nomenclatureActivitePrincipaleEtablissement"] == "NAFRev2"
        and r["codeCommuneEtablissement"]
    ][:40]
    closed = [r for r in real if r["etatAdministratifEtablissement"] == "F"][:10]
    establishments = [[r.get(name, "") for name in ESTABLISHMENT_TYPES] for r in active + closed]
    units, seen = [], set()
    for number, r in enumerate(active + closed):
        if r["siren"] in seen:
            continue
        seen.add(r["siren"])
        ess = number % 2 == 0  # every other unit an association with the ESS flag
        unit = dict.fromkeys(UNIT_TYPES, "")
        unit.update(
            siren=r["siren"],
            statutDiffusionUniteLegale="O",
            dateCreationUniteLegale=r["dateCreationEtablissement"],
            trancheEffectifsUniteLegale=r["trancheEffectifsEtablissement"],
            dateDernierTraitementUniteLegale=r["dateDernierTraitementEtablissement"],
            nombrePeriodesUniteLegale="1",
            dateDebut=r["dateDebut"],
            etatAdministratifUniteLegale="A",
            categorieJuridiqueUniteLegale="9220" if ess else "5710",
            activitePrincipaleUniteLegale=r["activitePrincipaleEtablissement"],
            nomenclatureActivitePrincipaleUniteLegale=r[
                "nomenclatureActivitePrincipaleEtablissement"
            ],
            nicSiegeUniteLegale=r["nic"],
            economieSocialeSolidaireUniteLegale="O" if ess else "N",
            caractereEmployeurUniteLegale=r["caractereEmployeurEtablissement"],
        )
        units.append(list(unit.values()))
    return establishments, units


def csv_text(header: list[str], rows: list[list[str]], delimiter: str = ",") -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def zipped(stock: str, text: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        member = zipfile.ZipInfo(f"{stock}_utf8.csv", date_time=(2026, 3, 1, 6, 0, 0))
        archive.writestr(member, text, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def parquet(text: str, types: dict[str, str]) -> bytes:
    con = duckdb.connect()
    scratch = HERE / ".scratch.csv"
    target = HERE / ".scratch.parquet"
    scratch.write_text(text, encoding="utf-8")
    columns = ", ".join(f'TRY_CAST("{name}" AS {kind}) AS "{name}"' for name, kind in types.items())
    con.execute(
        f"COPY (SELECT {columns} FROM read_csv('{scratch}', all_varchar = true, header = true)) "
        f"TO '{target}' (FORMAT parquet)"
    )
    body = target.read_bytes()
    scratch.unlink()
    target.unlink()
    return body


def urssaf_export() -> bytes:
    """Occitanie, 2022 and 2023: the families of the ESS (« OUI »), outside the ESS (« NON »)."""
    rows = []
    for year, scale in (("2022", 1.0), ("2023", 1.02)):
        for champ, family, sector, etabs, staff, wages in (
            ("OUI", "Associations", "88 Action sociale sans hébergement", 2140, 48210.5, 1.21e9),
            ("OUI", "Coopératives", "64 Activités des services financiers", 410, 9875.25, 4.5e8),
            ("OUI", "Mutuelles", "65 Assurance", 95, 3120.0, 1.6e8),
            ("OUI", "Fondations", "86 Activités pour la santé humaine", 60, 5230.75, 2.2e8),
            ("NON", "Hors ESS", "88 Action sociale sans hébergement", 520, 9100.0, 2.6e8),
        ):
            rows.append(
                [
                    "Occitanie",
                    champ,
                    family,
                    sector,
                    year,
                    "76",
                    str(round(etabs * scale)),
                    str(round(staff * scale, 2)),
                    str(round(wages * scale)),
                ]
            )
    text = csv_text([name for name, _, _ in URSSAF_FIELDS], rows, delimiter=";")
    return "\ufeff".encode() + text.encode("utf-8")


def urssaf_national_export() -> bytes:
    """France, 2022 and 2023: the families of the ESS (« OUI »), outside the ESS (« NON »)."""
    rows = []
    for year, scale in (("2022", 1.0), ("2023", 1.02)):
        for champ, family, big, sector, etabs, staff, wages in (
            ("OUI", "Associations", "GS5 Autres services", "88 Action sociale sans hébergement", 61200, 1.02e6, 2.6e10),
            ("OUI", "Coopératives", "GS5 Autres services", "64 Activités des services financiers", 11900, 1.83e5, 9.1e9),
            ("OUI", "Mutuelles", "GS5 Autres services", "65 Assurance", 5300, 1.05e5, 4.9e9),
            ("OUI", "Fondations", "GS5 Autres services", "86 Activités pour la santé humaine", 1500, 8.4e4, 3.0e9),
            ("NON", "Hors ESS", "GS5 Autres services", "88 Action sociale sans hébergement", 14800, 2.3e5, 6.0e9),
        ):  # fmt: skip
            rows.append(
                [
                    champ,
                    family,
                    big,
                    sector,
                    year,
                    str(round(etabs * scale)),
                    str(round(staff * scale, 2)),
                    str(round(wages * scale)),
                ]
            )
    text = csv_text([name for name, _, _ in URSSAF_NATIONAL_FIELDS], rows, delimiter=";")
    return "\ufeff".encode() + text.encode("utf-8")


def sirene_dataset(files: dict) -> dict:
    """data.gouv.fr API v1, GET /api/1/datasets/5b7ffc618b4c4169d30727e0/ (shape: udata's
    dataset_fields and resource_fields; ids, titles and URLs: data.gouv.fr's SIRENE DAG)."""
    resources = []
    ids = {
        ("StockEtablissementHistorique", "zip"): "88fbb6b4-0320-443e-b739-b4376a012c32",
        ("StockEtablissement", "zip"): "0651fb76-bcf3-4f6a-a38d-bc04fa708576",
        ("StockEtablissement", "parquet"): "a29c1297-1f92-4e2a-8f6b-8c902ce96c5f",
        ("StockUniteLegaleHistorique", "zip"): "0835cd60-2c2a-497b-bc64-404de704ce89",
        ("StockUniteLegale", "zip"): "825f4199-cadd-486c-ac46-a65a8ea1a047",
        ("StockUniteLegale", "parquet"): "350182c9-148a-46e0-8389-76c2ec1374a3",
    }
    for (stock, kind), rid in ids.items():
        body = files.get((stock, kind))
        parquet_title = " (format parquet)" if kind == "parquet" else ""
        resources.append(
            {
                "id": rid,
                "title": f"Sirene : Fichier {stock} du {SIRENE_TITLE_DATE}{parquet_title}",
                "description": None,
                "filetype": "remote",
                "type": "main",
                "format": kind,
                "url": f"https://object.files.data.gouv.fr/data-pipeline-open/siren/stock/"
                f"{stock}_utf8.{kind}",
                "latest": f"https://www.data.gouv.fr/api/1/datasets/r/{rid}",
                # The DAG publishes a SHA-256 for the zip files only.
                "checksum": {"type": "sha256", "value": body["sha256"]}
                if body and kind == "zip"
                else None,
                "filesize": body["bytes"] if body else 1_100_000_000,
                "mime": "application/zip" if kind == "zip" else "application/vnd.apache.parquet",
                "created_at": "2021-09-01T07:39:48.000000+00:00",
                "last_modified": f"{VINTAGE_DAY}T06:25:12.000000+00:00",
                "metrics": {"views": 0},
                "extras": {},
                "preview_url": None,
                "schema": None,
                "internal": {
                    "created_at_internal": "2021-09-01T07:39:48.000000+00:00",
                    "last_modified_internal": f"{VINTAGE_DAY}T06:25:12.000000+00:00",
                },
            }
        )
    return {
        "id": "5b7ffc618b4c4169d30727e0",
        "title": "Base Sirene des entreprises et de leurs établissements (SIREN, SIRET)",
        "acronym": None,
        "slug": "base-sirene-des-entreprises-et-de-leurs-etablissements-siren-siret",
        "description": "Six fichiers stock mensuels compactés (format ZIP) sont mis à disposition.",
        "created_at": "2018-08-24T14:38:57.000000+00:00",
        "last_modified": f"{VINTAGE_DAY}T06:25:12.000000+00:00",
        "last_update": f"{VINTAGE_DAY}T06:25:12.000000+00:00",
        "deleted": None,
        "archived": None,
        "private": False,
        "tags": ["entreprises", "etablissements", "siren", "sirene", "siret"],
        "badges": [{"kind": "spd"}],
        "resources": resources,
        "frequency": "monthly",
        "frequency_date": None,
        "extras": {},
        "metrics": {"views": 0, "followers": 0, "reuses": 0, "discussions": 0},
        "organization": {
            "id": "534fff81a3a7292c64a77e5c",
            "name": "Institut National de la Statistique et des Etudes Economiques (Insee)",
        },
        "owner": None,
        "temporal_coverage": None,
        "spatial": None,
        "license": "lov2",
        "uri": "https://www.data.gouv.fr/api/1/datasets/"
        "base-sirene-des-entreprises-et-de-leurs-etablissements-siren-siret/",
        "page": "https://www.data.gouv.fr/fr/datasets/"
        "base-sirene-des-entreprises-et-de-leurs-etablissements-siren-siret/",
    }


def essfrance_dataset(body: dict) -> dict:
    """data.gouv.fr API v1, GET /api/1/datasets/646c8d45de96cc3428092c6b/ (dataset id: the
    Annuaire des entreprises' README; resource id: its ess_france config; file URL:
    ess-numerique-database's downloader). An uploaded file carries udata's default SHA-1."""
    rid = "57bc99ca-0432-4b46-8fcc-e76a35c9efaf"
    return {
        "id": "646c8d45de96cc3428092c6b",
        "title": "Liste des entreprises de l'ESS",
        "acronym": None,
        "slug": "liste-des-entreprises-de-less",
        "description": "Liste des entreprises de l'économie sociale et solidaire.",
        "created_at": "2023-05-23T11:47:49.000000+00:00",
        "last_modified": "2023-11-20T10:26:05.000000+00:00",
        "last_update": "2023-11-20T10:26:05.000000+00:00",
        "deleted": None,
        "archived": None,
        "private": False,
        "tags": ["ess", "economie-sociale-et-solidaire"],
        "badges": [],
        "resources": [
            {
                "id": rid,
                "title": "entreprisesess.csv",
                "description": None,
                "filetype": "file",
                "type": "main",
                "format": "csv",
                "url": "https://static.data.gouv.fr/resources/liste-des-entreprises-de-less/"
                "20231120-102604/entreprisesess.csv",
                "latest": f"https://www.data.gouv.fr/api/1/datasets/r/{rid}",
                "checksum": {"type": "sha1", "value": body["sha1"]},
                "filesize": body["bytes"],
                "mime": "text/csv",
                "created_at": "2023-11-20T10:26:04.000000+00:00",
                "last_modified": "2023-11-20T10:26:05.000000+00:00",
                "metrics": {"views": 0},
                "extras": {},
                "preview_url": None,
                "schema": None,
            }
        ],
        "frequency": "unknown",
        "extras": {},
        "organization": {"name": "ESS France"},
        "owner": None,
        "license": "lov2",
        "uri": "https://www.data.gouv.fr/api/1/datasets/liste-des-entreprises-de-less/",
        "page": "https://www.data.gouv.fr/fr/datasets/liste-des-entreprises-de-less/",
    }


def urssaf_dataset(
    export: dict,
    dataset: str = URSSAF_ID,
    fields: list = URSSAF_FIELDS,
    title: str = "Nombre d'établissements employeurs, effectifs salariés et masse salariale du "
    "secteur privé, par région x familles ESS x NA88 et par an",
) -> dict:
    """Opendatasoft Explore API v2.1, GET /api/explore/v2.1/catalog/datasets/<id> (shape: the
    published OpenAPI 'dataset' schema; field names: the regional export's columns)."""
    base = f"https://open.urssaf.fr/api/explore/v2.1/catalog/datasets/{dataset}"
    return {
        "_links": [{"rel": "self", "href": base}],
        "dataset_id": dataset,
        "dataset_uid": "da_stand-in",
        "attachments": [],
        "has_records": True,
        "data_visible": True,
        "features": ["analyze", "timeserie"],
        "metas": {
            "default": {
                "title": title,
                "publisher": "Urssaf",
                "license": "Open Database License (ODbL)",
                "language": "fr",
                "modified": "2025-09-17T08:00:00+00:00",
                "data_processed": "2025-09-17T08:00:00+00:00",
                "metadata_processed": "2025-09-17T08:00:00+00:00",
                "records_count": export["lines"] - 1,
            }
        },
        "fields": [
            {"name": name, "label": label, "type": kind, "annotations": {}, "description": None}
            for name, label, kind in fields
        ],
    }


def urssaf_national_dataset(export: dict) -> dict:
    """The same, for the national dataset (its title is a stand-in, built like the regional)."""
    return urssaf_dataset(
        export,
        URSSAF_NATIONAL_ID,
        URSSAF_NATIONAL_FIELDS,
        "Nombre d'établissements employeurs, effectifs salariés et masse salariale du secteur "
        "privé, France entière x familles ESS x NA88 et par an",
    )


def write(path: Path, body: bytes) -> dict:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    return dict(
        bytes=len(body),
        sha256=hashlib.sha256(body).hexdigest(),
        sha1=hashlib.sha1(body).hexdigest(),
        lines=body.count(b"\n"),
    )


def write_json(path: Path, document: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
