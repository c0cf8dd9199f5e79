"""Hostile input: every reader fed random bytes, random encodings and mutated real files.

Whatever the file, ``observatory ingest`` either refuses it with an ``IngestError`` whose message
names the file and the reason (the warehouse byte for byte unchanged, no scratch file left), or
loads it with every row accounted for (read = loaded + rejected, as recorded in ``sources`` and
``rejects``). Bugs found this way are kept below as ordinary tests.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import shutil
import tempfile
import zipfile
from pathlib import Path

import duckdb
import pytest
from conftest import REAL_DATA, run_cli
from fuzz_helpers import ENCODINGS, SOURCES, SUFFIXES, encoded, mutated, seed_files, zipped
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_helpers import query, write

from observatory.ingest import IngestError, ingest
from observatory.warehouse.build import BuildError

FUZZ = dict(
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def examples(full: int) -> int:
    """``full`` examples in the full suite (Hypothesis's default profile draws 100), fewer in
    proportion under the daily loop's profile (``make test-fast``, tests/conftest.py)."""
    return max(1, full * settings().max_examples // 100)


# Readers whose « rows read » are the file's records (Urssaf counts one row per measure).
RECORD_READERS = {"sirene", "essfrance", "cress", "structures", "plan"}
CHECKS = re.compile(r"\d+ contrôle\(s\) de cohérence en échec : ")


SEEDS = seed_files(REAL_DATA)  # module-level: kept out of reports
TEXT_SEEDS = sorted(name for name, (_, suffix) in SEEDS.items() if suffix == ".csv")


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_or_refuse(empty: Path, data: bytes, suffix: str, source: str | None):
    """Ingest ``data`` into a fresh copy of ``empty``; assert the refusal or the load is clean.
    Returns « refusé » or the counts (read, loaded, rejected)."""
    with tempfile.TemporaryDirectory(prefix="observatory-fuzz-") as tmp:
        warehouse = Path(tmp) / "entrepot" / "observatory.duckdb"
        warehouse.parent.mkdir()
        shutil.copy(empty, warehouse)
        path = Path(tmp) / "2023" / f"fichier{suffix}"  # vintage given by the folder
        path.parent.mkdir()
        path.write_bytes(data)
        before = sha(warehouse)
        try:
            reports = ingest([path], source=source, db_path=warehouse)
        except BuildError as exc:  # IngestError, or the checks run once every file is in
            message = str(exc)
            assert isinstance(exc, IngestError) or CHECKS.match(message), message
            assert re.search(re.escape(path.name) + r"[^:]* : \S", message), message
            assert "Traceback" not in message
            assert sha(warehouse) == before
            assert [p.name for p in warehouse.parent.iterdir()] == [warehouse.name]
            return "refusé"
        [report] = reports
        assert_accounted(warehouse, report, data, suffix)
        return report.rows_read, report.rows_loaded, report.rows_rejected


def assert_accounted(warehouse: Path, report, data: bytes, suffix: str) -> None:
    """Every row read is loaded or rejected, as the warehouse itself records it."""
    assert report.rows_read > 0 and 0 <= report.rows_rejected <= report.rows_read
    assert report.rows_read == report.rows_loaded + report.rows_rejected
    file = str(report.file.resolve())
    recorded = query(
        warehouse,
        "SELECT rows_read, rows_loaded, rows_rejected FROM sources WHERE file = ?",
        [file],
    ).values.tolist()
    assert recorded == [[report.rows_read, report.rows_loaded, report.rows_rejected]]
    rejects = query(warehouse, "SELECT count(*) AS n FROM rejects WHERE file = ?", [file]).n[0]
    assert rejects == report.rows_rejected
    if report.source in ("insee", "urssaf", "cress"):
        figures = query(
            warehouse, "SELECT count(*) AS n FROM published_figures WHERE file = ?", [file]
        ).n[0]
        assert figures == report.rows_loaded
    plain = not data.startswith((b"PK", b"PAR1", b"\xd0\xcf\x11\xe0"))
    if report.source in RECORD_READERS and plain and suffix not in (".xls", ".xlsx"):
        assert report.rows_read == csv_records(data)


def csv_records(data: bytes) -> int:
    """Data records of a CSV, counted with Python's csv module (UTF-8, else cp1252)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    delimiter = max((",", ";", "\t", "|"), key=text.splitlines()[0].count)
    return (
        sum(
            1 for record in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if record
        )
        - 1
    )


# ---------------------------------------------------------------------------------------------
# Properties


@settings(max_examples=examples(50), **FUZZ)
@given(
    data=st.binary(max_size=3000), suffix=st.sampled_from(SUFFIXES), source=st.sampled_from(SOURCES)
)
def test_random_bytes_are_refused_or_loaded_cleanly(empty_warehouse_path, data, suffix, source):
    load_or_refuse(empty_warehouse_path, data, suffix, source)


@pytest.fixture(scope="module")
def utf8_outcomes(empty_warehouse_path):
    """What each text seed gives as it is (UTF-8)."""
    return {
        name: load_or_refuse(empty_warehouse_path, SEEDS[name][0], ".csv", None)
        for name in TEXT_SEEDS
    }


@settings(max_examples=examples(25), **FUZZ)
@given(name=st.sampled_from(TEXT_SEEDS), encoding=st.sampled_from(ENCODINGS))
def test_real_files_in_any_encoding_are_refused_or_loaded_cleanly(
    empty_warehouse_path, utf8_outcomes, name, encoding
):
    outcome = load_or_refuse(empty_warehouse_path, encoded(SEEDS[name][0], encoding), ".csv", None)
    if encoding in ("utf-8", "utf-8-sig", "cp1252"):  # the encodings the readers accept
        assert outcome == utf8_outcomes[name]


def test_the_seeds_load_as_they_are(utf8_outcomes):
    """The unmutated seeds load (a plan file alone refers to axes or actions not loaded)."""
    refused = sorted(name for name, outcome in utf8_outcomes.items() if outcome == "refusé")
    assert refused == ["plan_actions", "plan_evenements", "plan_indicateurs"]
    assert utf8_outcomes["etablissements"] == (149, 149, 0)


@settings(max_examples=examples(120), **FUZZ)
@given(case=mutated(SEEDS), source=st.sampled_from([None, None, *SOURCES]))
def test_mutated_real_files_are_refused_or_loaded_cleanly(empty_warehouse_path, case, source):
    load_or_refuse(empty_warehouse_path, *case, source)


# ---------------------------------------------------------------------------------------------
# The command line: one French line, no traceback


def hostile_files(tmp: Path, real: Path) -> dict[str, Path]:
    folder = tmp / "2023"
    folder.mkdir()
    files = {
        "octets aléatoires": bytes(range(256)) * 8,
        "zip endommagé": zipped(b"siren\n123456789\n" * 50, "liste.csv")[:-40],
        "BOM puis Latin-1": b"\xef\xbb\xbfniveau;code;annee;famille;secteur;mesure;valeur\n"
        b"region;76;2023;Soci\xe9t\xe9;;etablissements;1\n",
        "classeur tronqué": (real / "insee" / "ITDD-DonneesDetaillees.xls").read_bytes()[:30000],
    }
    suffixes = {"zip endommagé": ".zip", "classeur tronqué": ".xls"}
    paths = {}
    for number, (case, content) in enumerate(files.items()):
        paths[case] = folder / f"fichier-{number}{suffixes.get(case, '.csv')}"
        paths[case].write_bytes(content)
    return paths


def test_cli_refuses_hostile_files_with_one_french_line(db, tmp_path, real_data):
    before = sha(db)
    for case, path in hostile_files(tmp_path, real_data).items():
        result = run_cli("ingest", str(path), "--db", str(db))
        assert result.returncode != 0, case
        errors = [line for line in result.stderr.splitlines() if line.startswith("Erreur :")]
        assert len(errors) == 1 and path.name in errors[0], (case, result.stderr)
        assert "précédent est conservé" in errors[0]
        assert "Traceback" not in result.stderr and result.stdout == "", (case, result.stdout)
    assert sha(db) == before


# ---------------------------------------------------------------------------------------------
# Bugs found by the properties above, kept as ordinary tests


def test_bom_followed_by_latin1_bytes_is_refused_naming_the_line(db, tmp_path):
    path = tmp_path / "cress.csv"
    path.write_bytes(
        b"\xef\xbb\xbfniveau;code;annee;famille;secteur;mesure;valeur\n"
        b"region;76;2023;ASSO;;etablissements;1\n"
        b"region;76;2023;Soci\xe9t\xe9;;etablissements;1\n"
    )
    with pytest.raises(IngestError, match=r"cress.csv, ligne 3 : .*BOM.*pas de l'UTF-8"):
        ingest([path], db_path=db)


def test_a_latin1_file_whose_first_accent_comes_late_is_transcoded(
    db, empty_warehouse_path, tmp_path, real_data
):
    """The real extract in Latin-1: its first 64 KiB (where the encoding is guessed) are ASCII."""
    source = real_data / "sirene" / "StockEtablissement_extract_2021-11_part1.csv"
    path = tmp_path / "2021" / "StockEtablissement.csv"
    path.parent.mkdir()
    path.write_bytes(source.read_text(encoding="utf-8").encode("cp1252"))
    assert path.read_bytes()[:65536].isascii() and not path.read_bytes().isascii()
    report = ingest([path], db_path=db)[0]
    assert (report.rows_read, report.rows_rejected) == (15_000, 0)
    original = tmp_path / "original.duckdb"
    shutil.copy(empty_warehouse_path, original)
    ingest([source], vintage=2021, db_path=original)
    establishments = (
        "SELECT siret, commune_code, naf_code FROM sirene_establishments ORDER BY siret"
    )
    assert query(db, establishments).equals(query(original, establishments))


def test_utf8_then_latin1_bytes_are_refused_as_mixed_encodings(db, tmp_path, real_data):
    lines = (
        (real_data / "sirene" / "StockEtablissement_extract_2021-11_part1.csv")
        .read_bytes()
        .split(b"\n")
    )
    country = lines[0].split(b",").index(b"codePaysEtrangerEtablissement")  # a column read
    cells = lines[10_000].split(b",")
    cells[country] = b"\xc9GYPTE"  # Latin-1 in a UTF-8 file
    lines[10_000] = b",".join(cells)
    path = tmp_path / "2021" / "StockEtablissement.csv"
    path.parent.mkdir()
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(
        IngestError,
        match=r"StockEtablissement.csv, ligne 10001 : .*"
        r"encodages mélangés",
    ):
        ingest([path], db_path=db)


@pytest.mark.parametrize("damage", ["checksum", "truncated"])
def test_damaged_zip_member_is_refused(db, tmp_path, damage):
    archive = bytearray(zipped(b"siren\n" + b"123456789\n" * 2000, "liste.csv"))
    if damage == "checksum":
        archive[60] ^= 0xFF  # inside the compressed data
    else:
        del archive[40:200]
    path = tmp_path / "liste.zip"
    path.write_bytes(bytes(archive))
    with pytest.raises(IngestError, match=r"liste.zip : archive zip illisible"):
        ingest([path], db_path=db)


@pytest.mark.parametrize("content", ["csv", "xls"])
def test_cress_template_that_is_not_a_workbook_is_refused(db, tmp_path, real_data, content):
    path = tmp_path / "cress.xlsx"
    path.write_bytes(
        b"niveau;code;annee\n"
        if content == "csv"
        else (real_data / "insee" / "ITDD-DonneesDetaillees.xls").read_bytes()[:20000]
    )
    with pytest.raises(IngestError, match=r"cress.xlsx : classeur Excel illisible"):
        ingest([path], source="cress", db_path=db)


def test_a_trailing_separator_in_the_header_is_harmless(db, tmp_path):
    path = write(
        tmp_path / "cress.csv",
        "niveau;code;annee;famille;secteur;mesure;valeur;\n"
        "region;76;2023;ASSO;;etablissements;10;\n",
    )
    report = ingest([path], db_path=db)[0]
    assert (report.rows_read, report.rows_rejected) == (1, 0)


def test_a_column_twice_in_the_header_is_refused_naming_it(db, tmp_path):
    path = write(tmp_path / "liste.csv", "siren,nom,SIREN\n123456789,A,987654321\n")
    with pytest.raises(
        IngestError,
        match=r"liste.csv, ligne 1 : colonne « SIREN » en double "
        r"dans l'en-tête \(colonnes 1 et 3\)",
    ):
        ingest([path], source="essfrance", db_path=db)


def test_quoted_line_breaks_are_read_as_one_value(db, tmp_path, real_data):
    """DuckDB's parallel scanner refuses them with padding: the file is read again serially."""
    lines = (
        (real_data / "sirene" / "StockUniteLegale_ess_numerique_extract.csv")
        .read_text(encoding="utf-8")
        .splitlines()[:200]
    )
    cells = next(csv.reader([lines[10]]))
    cells[1] = "JUNIOR\nISEN, CÔTÉ"
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(cells)
    lines[10] = out.getvalue().rstrip("\n")
    (tmp_path / "2021").mkdir()
    path = write(tmp_path / "2021" / "StockUniteLegale.csv", "\n".join(lines) + "\n")
    report = ingest([path], db_path=db)[0]
    assert (report.rows_read, report.rows_rejected) == (199, 0)
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM legal_units").fetchall()[0][0] == 199


def test_zip_member_names_cannot_escape_the_work_folder(db, tmp_path):
    path = tmp_path / "liste.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("../../evil.csv", "siren\n123456789\n")
    report = ingest([path], db_path=db)[0]
    assert report.rows_read == 1
    assert not (tmp_path.parent / "evil.csv").exists() and not Path("/tmp/evil.csv").exists()
