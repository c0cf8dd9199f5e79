"""Robustness: encodings, separators, decimal commas, no-break spaces, CRLF, lost zeros,
duplicates, empty files and files of the wrong kind, each with the message a user reads."""

from __future__ import annotations

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
