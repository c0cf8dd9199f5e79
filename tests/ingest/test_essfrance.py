"""ESS France's list of ESS companies, as published (entreprisesess.csv) and as a bare list."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from ingest_helpers import query, write

from observatory.ingest import IngestError, ingest

RECORDED = Path(__file__).resolve().parents[1] / "data" / "recorded"
LIST = (
    RECORDED
    / "static.data.gouv.fr/resources/liste-des-entreprises-de-less/20231120-102604"
    / "entreprisesess.csv"
)


def test_the_published_list_is_recognised_by_its_header(db):
    """The real list has 8 columns (SIREN, name, legal family, postcode, commune, département,
    région): ``observatory ingest entreprisesess.csv`` needs no ``--source``."""
    report = ingest([LIST], db_path=db)[0]
    with LIST.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows[0]) == 8
    assert (report.source, report.rows_read, report.rows_rejected) == ("essfrance", len(rows), 0)
    listed = query(db, "SELECT siren FROM ess_france_sirens ORDER BY 1").siren.tolist()
    assert listed == sorted(int(row["SIREN"]) for row in rows)  # 5720610 is 005720610


def test_a_file_with_a_siren_column_and_many_others_is_not_taken_for_the_list(db, tmp_path):
    """A wide file that only holds a SIREN column is not ESS France's list: it is refused as
    unrecognised instead of flagging its SIRENs as ESS companies."""
    header = "siren,nom,adresse,code_postal,commune,departement,region,effectif"
    path = write(tmp_path / "entreprises.csv", header + "\n123456789,A,B,34000,C,34,76,3\n")
    with pytest.raises(IngestError, match="type de fichier non reconnu"):
        ingest([path], db_path=db)
    assert query(db, "SELECT count(*) AS n FROM ess_france_sirens").n[0] == 0
