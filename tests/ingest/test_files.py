"""Robustness: encodings, separators, decimal commas, no-break spaces, CRLF, lost zeros,
duplicates, empty files and files of the wrong kind, each with the message a user reads."""

from __future__ import annotations

import zipfile

import pytest
from ingest_helpers import query, write

from observatory.ingest import IngestError, ingest

CRESS = "niveau{s}code{s}annee{s}famille{s}secteur{s}mesure{s}valeur\n"


def cress_file(tmp_path, rows: list[str], sep=";", encoding="utf-8", newline="\n", bom=False):
    text = CRESS.format(s=sep) + "".join(r.replace(";", sep) + "\n" for r in rows)
    path = write(tmp_path / "cress.csv", text, encoding=encoding, newline=newline)
    if bom:
        path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    return path


@pytest.mark.parametrize("encoding, bom", [("utf-8", False), ("utf-8", True), ("cp1252", False)])
@pytest.mark.parametrize("sep", [",", ";", "\t"])
@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_encodings_separators_and_line_ends_give_the_same_figures(
    db, tmp_path, encoding, bom, sep, newline
):
    rows = [
        "departement;2A;2023;Société commerciale de l'ESS;;etablissements;12",
        "departement;34;2023;ASSO;;remunerations_brutes;1\u00a0234\u00a0567",
        "departement;34;2023;ASSO;;etp;12" + ("|5" if sep == "," else ",5"),
    ]
    if sep == ",":
        rows[2] = rows[2].replace("|5", "") + ".5"  # a comma separator: decimal point
    report = ingest([cress_file(tmp_path, rows, sep, encoding, newline, bom)], db_path=db)[0]
    assert (report.rows_read, report.rows_rejected) == (3, 0)
    got = query(
        db, "SELECT code, family_code, measure, value FROM published_figures ORDER BY code, measure"
    )
    assert got.values.tolist() == [
        ["2A", "SCESS", "etablissements", 12.0],
        ["34", "ASSO", "etp", 12.5],
        ["34", "ASSO", "remunerations_brutes", 1234567.0],
    ]


def test_codes_that_lost_their_leading_zeros_are_repaired(db, tmp_path):
    rows = ["commune;1001;2023;ASSO;;etablissements;1", "departement;1;2023;ASSO;;etablissements;2"]
    ingest([cress_file(tmp_path, rows)], db_path=db)
    assert query(db, "SELECT code FROM published_figures ORDER BY code").code.tolist() == [
        "01",
        "01001",
    ]
    stats = query(db, "SELECT item, value FROM load_stats")
    assert stats.item.str.contains("zéros initiaux restaurés").all() and stats.value.sum() == 2


def test_merged_communes_are_mapped_or_rejected_with_the_reason(db, tmp_path):
    rows = [
        "commune;01039;2023;ASSO;;etablissements;1",  # Béon, commune déléguée of 01138
        "commune;01999;2023;ASSO;;etablissements;1",
    ]  # no such commune, ever
    rows += [f"region;76;{y};ASSO;;etablissements;1" for y in range(1990, 2030)]
    ingest([cress_file(tmp_path, rows)], db_path=db)
    assert (
        "01138"
        in query(db, "SELECT code FROM published_figures WHERE level = 'commune'").code.tolist()
    )
    reject = query(db, 'SELECT line, "column", value, reason FROM rejects').iloc[0]
    assert (reject.line, reject.column, reject.value) == (3, "code", "01999")
    assert "périmé" in reject.reason


def test_duplicate_keys_keep_the_first_and_reject_the_others(db, tmp_path):
    rows = ["region;76;2023;ASSO;;etablissements;10", "region;76;2023;ASSO;;etablissements;11"]
    rows += [f"region;76;{y};COOP;;etablissements;1" for y in range(1990, 2030)]
    ingest([cress_file(tmp_path, rows)], db_path=db)
    assert query(
        db, "SELECT value FROM published_figures WHERE family_code = 'ASSO'"
    ).value.tolist() == [10]
    assert query(db, "SELECT line, reason FROM rejects").values.tolist()[0][0] == 3


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "fichier vide"),
        (CRESS.format(s=";").encode(), "fichier vide"),
        (b"%PDF-1.7\n\x00\x01binary", "fichier binaire non reconnu"),
        (b"nom,prenom,age\nDupont,Jean,42\n", "type de fichier non reconnu"),
    ],
)
def test_empty_and_wrong_files_are_refused_and_nothing_is_loaded(db, tmp_path, content, message):
    path = tmp_path / "fichier.csv"
    path.write_bytes(content)
    with pytest.raises(IngestError, match=message):
        ingest([path], db_path=db)
    assert (
        query(
            db,
            "SELECT count(*) AS n FROM sources WHERE NOT synthetic AND source NOT LIKE 'reference:%'",
        ).n[0]
        == 0
    )


def test_a_sirene_row_with_a_bad_value_names_file_line_column_and_reason(db, tmp_path):
    header = (
        "siret,etatAdministratifEtablissement,caractereEmployeurEtablissement,"
        "trancheEffectifsEtablissement,codeCommuneEtablissement,activitePrincipaleEtablissement\n"
    )
    good = "".join(f"123456789{i:05d},A,O,01,34172,88.10A\n" for i in range(40))
    path = write(
        tmp_path / "StockEtablissement_2023.csv",
        header
        + good
        + "12345678900001,A,O,01,34172,88.10A\n"
        + "99999999900001,A,O,01,34999,88.10A\n",
    )
    ingest([path], db_path=db)
    rejects = query(db, 'SELECT line, "column", value, reason FROM rejects ORDER BY line')
    assert rejects.values.tolist() == [
        [42, "siret", "12345678900001", "SIRET en double dans le fichier"],
        [
            43,
            "codeCommuneEtablissement",
            "34999",
            "code commune inconnu ou périmé (absent du COG et des communes déléguées, associées et "
            "arrondissements connus)",
        ],
    ]


def test_a_zip_with_a_notice_beside_its_csv_loads_the_csv(db, tmp_path):
    """INSEE-style archives hold a notice (LISEZMOI.txt) beside the data: the data file is
    chosen; two data files are still refused, naming them."""
    data = CRESS.format(s=";") + "region;76;2023;ASSO;;etablissements;10\n"
    archive = tmp_path / "cress.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("cress_2023.csv", data)
        handle.writestr("LISEZMOI.txt", "Données de la CRESS, 2023.\nSéparateur ; , UTF-8.\n")
        handle.writestr("__MACOSX/._cress_2023.csv", b"\x00\x05\x16\x07")
    report = ingest([archive], db_path=db)[0]
    assert (report.source, report.rows_read, report.rows_rejected) == ("cress", 1, 0)
    two = tmp_path / "deux.zip"
    with zipfile.ZipFile(two, "w") as handle:
        handle.writestr("a.csv", data)
        handle.writestr("b.csv", data)
    with pytest.raises(
        IngestError, match=r"un seul fichier de données CSV \(2 trouvés : a.csv, b.csv\)"
    ):
        ingest([two], db_path=db)


def test_the_vintage_comes_from_the_name_or_the_drop_zone_folder_only(db, tmp_path):
    """A year in an unrelated folder (« archives_2019 ») is not a vintage; the drop zone's
    folder (« sirene/2024-03 ») and the file's name are."""
    text = (
        "siret,etatAdministratifEtablissement,caractereEmployeurEtablissement,"
        "trancheEffectifsEtablissement,codeCommuneEtablissement,activitePrincipaleEtablissement\n"
        "12345678900011,A,O,03,34172,88.10A\n"
    )
    unrelated = tmp_path / "archives_2019" / "etablissements"
    unrelated.mkdir(parents=True)
    with pytest.raises(IngestError, match="millésime introuvable"):
        ingest([write(unrelated / "StockEtablissement_utf8.csv", text)], db_path=db)
    drop_zone = tmp_path / "archives_2019" / "sirene" / "2024-03"
    drop_zone.mkdir(parents=True)
    report = ingest([write(drop_zone / "StockEtablissement_utf8.csv", text)], db_path=db)[0]
    assert report.vintage == "2024"
    named = write(unrelated / "StockEtablissement_2022.csv", text)
    assert ingest([named], db_path=db)[0].vintage == "2022"


URSSAF_HEADER = "code_region;annee;famille_ess;secteur_na88;nombre_d_etablissements\n"


@pytest.mark.parametrize(
    "name, text, line, column, reason",
    [
        (
            "cress.csv",
            CRESS.format(s=";") + "region;76;2023;ASSO;;etablissements;10\nregion;76;2023;COOP\n"
            "region;76;2022;ASSO;;etablissements;12\n",
            3,
            "valeur",
            "ligne incomplète",
        ),
        (
            "cress.csv",
            CRESS.format(s=";") + "region;76;2023;ASSO;;etablissements;10\n"
            "region;76;2022;ASSO;;etablissements;1;2\n",
            3,
            "au-delà de la colonne 7",
            "ligne trop longue",
        ),
        (
            "cress.csv",  # a file cut inside its last line: « 1 254 » lost its last value
            CRESS.format(s=";") + "region;76;2023;ASSO;;etablissements;10\n"
            "region;76;2022;ASSO;;etablissements;",
            3,
            "valeur",
            "dernière ligne coupée",
        ),
        (
            "urssaf.csv",
            URSSAF_HEADER + "76;2022;Associations;88;1 200\n76;2022;Coopératives\n",
            3,
            "nombre_d_etablissements",
            "ligne incomplète",
        ),
        (
            "liste_ess_france.csv",
            "siren\n123456789\n987654321\n12345",
            4,
            "siren",
            "fichier coupé",
        ),
        (
            "tableau_insee.csv",
            "Effectifs de l'ESS;;;\nDEPARTEMENTS;;;\n;;Postes;\n;Année;2021;2022\n"
            "34;Hérault;1 234;1 300\n30;Gard;800\n",
            6,
            "D",
            "ligne incomplète",
        ),
    ],
)
def test_short_long_and_cut_rows_are_rejected_by_every_reader(
    db, tmp_path, name, text, line, column, reason
):
    """A row with fewer or more values than the header, or a last line cut off, is rejected
    with its line, column and reason, not read with empty values."""
    path = write(tmp_path / name, text)
    ingest([path], db_path=db, max_reject_rate=1)
    rejects = query(db, 'SELECT line, "column", reason FROM rejects')
    assert rejects.values.tolist()[0][:2] == [line, column], rejects
    assert reason in rejects.reason[0]
    assert query(db, "SELECT count(*) AS n FROM published_figures WHERE marker = 'vide'").n[0] == 0
