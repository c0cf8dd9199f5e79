"""The refresh's drop zone read safely: each file opened once beneath the zone without following
a link, staged from that descriptor, and named by its drop-zone path wherever a user reads."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from pathlib import Path

import duckdb
import pytest
from ingest_helpers import query

from observatory.ingest import IngestError, dropzone, ingest
from observatory.ingest.dropzone import scan_raw, staged

SECRET = "MARQUE-SECRETE-4f1c"
SHADOW = "".join(f"{user}:$6${SECRET}$x:19000:0:99999:7:::\n" for user in ("root", "daemon", "bin"))
LIST = "siren;nom\n775672272;Coop A\n302456789;Mutuelle B\n"


@pytest.fixture
def zone(tmp_path) -> Path:
    """A drop zone holding an ESS France list, and a secret file outside it."""
    raw = tmp_path / "raw"
    (raw / "essfrance" / "2024").mkdir(parents=True)
    (raw / "essfrance" / "2024" / "liste.csv").write_text(LIST)
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "liste.csv").write_text(SHADOW)
    return raw


def swap_for_link(zone: Path, what: str) -> Path:
    """Swap the list (``file``) or its folder (``folder``) for a link to the secret's copy."""
    folder = zone / "essfrance" / "2024"
    secret = zone.parent / "secret"
    if what == "file":
        (folder / "liste.csv").rename(zone.parent / "liste-scannee.csv")
        (folder / "liste.csv").symlink_to(secret / "liste.csv")
    else:
        folder.rename(zone.parent / "2024-scanne")
        folder.symlink_to(secret)
    return folder / "liste.csv"


def test_each_file_is_staged_from_the_descriptor_its_checksum_was_read_from(zone, tmp_path):
    run = tmp_path / "run"
    [item] = scan_raw(zone, run_folder=run)
    copy = staged(zone, run, item)
    assert copy.path == zone.resolve() / "essfrance" / "2024" / "liste.csv"
    assert copy.read_from == run / "raw" / "essfrance" / "2024" / "liste.csv"
    assert item.sha256 == hashlib.sha256(LIST.encode()).hexdigest()
    assert stat.S_IMODE((run / "raw").stat().st_mode) == 0o700  # the run's private folder
    # same file system: a hard link, no byte copied
    assert copy.read_from.stat().st_ino == (zone / item.file).stat().st_ino


@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_link_swapped_in_after_the_scan_reaches_nothing(zone, tmp_path, what):
    run = tmp_path / "run"
    [item] = scan_raw(zone, run_folder=run)
    assert SECRET in swap_for_link(zone, what).read_text()  # the zone's path now leads there
    assert staged(zone, run, item).read_from.read_text() == LIST  # what the loads read


def test_a_zone_on_another_file_system_is_staged_by_a_copy(tmp_path):
    shm = Path("/dev/shm")
    if not shm.is_dir() or shm.stat().st_dev == tmp_path.stat().st_dev:
        pytest.skip("no second file system (tmpfs /dev/shm) here")
    raw = shm / f"observatory-zone-{os.getpid()}-{tmp_path.name}"
    try:
        (raw / "essfrance" / "2024").mkdir(parents=True)
        (raw / "essfrance" / "2024" / "liste.csv").write_text(LIST)
        run = tmp_path / "run"
        [item] = scan_raw(raw, run_folder=run)
        copy = staged(raw, run, item).read_from
        assert copy.stat().st_dev != (raw / item.file).stat().st_dev  # EXDEV: copied
        assert copy.read_text() == LIST
        assert item.sha256 == hashlib.sha256(LIST.encode()).hexdigest()
    finally:
        shutil.rmtree(raw, ignore_errors=True)


@pytest.mark.parametrize("what", ["file", "folder"])
def test_a_link_swapped_in_between_listing_and_opening_is_refused_unread(
    zone, tmp_path, monkeypatch, what
):
    """The zone is listed, then each file is opened: a link swapped in between is refused by
    the open itself (folder by folder, O_NOFOLLOW), not by the listing that came before."""
    listed = dropzone._files

    def listing_then_swap(raw, folder, parts):
        found = listed(raw, folder, parts)
        if not parts:
            swap_for_link(zone, what)
        return found

    monkeypatch.setattr(dropzone, "_files", listing_then_swap)
    run = tmp_path / "run"
    with pytest.raises(ValueError) as refused:
        scan_raw(zone, run_folder=run)
    message = str(refused.value)
    path = zone / "essfrance" / "2024" if what == "folder" else zone / "essfrance/2024/liste.csv"
    assert message == (
        f"{path} : lien symbolique refusé dans le dépôt des fichiers bruts {zone} (copiez-y le "
        "fichier lui-même) ; sa cible n'a pas été lue"
    )
    assert not [p for p in run.rglob("*") if p.is_file()]  # nothing staged


def test_a_staged_file_is_named_by_its_drop_zone_path(zone, tmp_path, db):
    (zone / "essfrance" / "2024" / "liste.csv").write_text(LIST + "12AB;Sans SIREN\n" + LIST[10:])
    run = tmp_path / "run"
    [item] = scan_raw(zone, run_folder=run)
    swap_for_link(zone, "folder")  # after the scan: the load reads what was scanned
    with pytest.raises(IngestError) as refused:  # 3 of 5 rows rejected: beyond the threshold
        ingest([staged(zone, run, item)], source="essfrance", db_path=db)
    assert str(refused.value).startswith("liste.csv : 3 lignes rejetées sur 5 lues")
    assert "liste.csv, ligne 4, colonne siren, valeur « 12AB » : SIREN absent ou invalide" in str(
        refused.value
    )
    [report] = ingest([staged(zone, run, item)], source="essfrance", db_path=db, max_reject_rate=1)
    assert (report.rows_read, report.rows_rejected) == (5, 3)
    shown = str(zone.resolve() / "essfrance" / "2024" / "liste.csv")
    assert query(db, "SELECT DISTINCT file FROM rejects")["file"].tolist() == [shown]
    sources = query(db, "SELECT file, file_sha256 FROM sources WHERE source = 'essfrance'")
    assert sources.values.tolist() == [[shown, item.sha256]]
    assert sorted(query(db, "SELECT siren FROM ess_france_sirens")["siren"]) == [
        302456789,
        775672272,
    ]
    assert not texts_with(db, str(run)) and not texts_with(db, SECRET)


def test_a_library_error_names_the_drop_zone_path_not_the_staged_one(tmp_path, db):
    raw = tmp_path / "raw"
    (raw / "sirene" / "2024").mkdir(parents=True)
    (raw / "sirene" / "2024" / "StockEtablissement.parquet").write_bytes(b"PAR1" + bytes(100))
    run = tmp_path / "run"
    [item] = scan_raw(raw, run_folder=run)
    with pytest.raises(IngestError) as refused:
        ingest([staged(raw, run, item)], source="sirene", db_path=db, vintage=2024)
    message = str(refused.value)
    assert message.startswith("StockEtablissement.parquet : fichier illisible (")
    assert f"'{raw.resolve() / item.file}'" in message and str(run) not in message


def texts_with(db: Path, needle: str) -> list[str]:
    """The tables of the warehouse holding ``needle`` in any value, as text."""
    with duckdb.connect(str(db), read_only=True) as con:
        tables = [t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        return [
            table
            for table in tables
            if con.execute(
                f'SELECT count(*) FROM "{table}" AS t WHERE strpos(CAST(t AS VARCHAR), ?) > 0',
                [needle],
            ).fetchall()[0][0]
        ]
