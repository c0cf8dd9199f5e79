"""``observatory download`` against a real local HTTP server replaying the publishers' recorded
answers (tests/data/recorded/README.md): whole downloads, resumed downloads, refused answers that
leave the drop zone untouched, the manifest, and files that the loaders read."""

from __future__ import annotations

import csv
import fcntl
import hashlib
import io
import json
import re
import socket
import zipfile
from datetime import date
from pathlib import Path

import duckdb
import pytest
from conftest import run_cli
from recorded_server import RECORDED, RecordedServer

from observatory.ingest import ingest
from observatory.ingest.dropzone import scan_raw
from observatory.ingest.pipeline import LOAD_ORDER
from observatory.publish import refresh, runs
from observatory.publish.download import DownloadError, download

SIRENE_API = "/api/1/datasets/5b7ffc618b4c4169d30727e0/"
ESS_API = "/api/1/datasets/646c8d45de96cc3428092c6b/"
URSSAF_ID = "nombre-etab-effectifs-salaries-et-masse-salariale-ess-regions-x-na88"
URSSAF_API = f"/api/explore/v2.1/catalog/datasets/{URSSAF_ID}"
URSSAF_FRANCE_ID = "nombre-etab-effectifs-salaries-et-masse-salariale-ess-france-x-na88"
URSSAF_FRANCE_API = f"/api/explore/v2.1/catalog/datasets/{URSSAF_FRANCE_ID}"
STOCK = "/data-pipeline-open/siren/stock/"
ETAB_ZIP = STOCK + "StockEtablissement_utf8.zip"
ESS_CSV = "/resources/liste-des-entreprises-de-less/20231120-102604/entreprisesess.csv"
URSSAF_CSV = URSSAF_API + "/exports/csv"
URSSAF_FRANCE_CSV = URSSAF_FRANCE_API + "/exports/csv"
# Where each recorded file lands in the drop zone, and the URL path it comes from.
EXPECTED = {
    "sirene": {
        "sirene/2026-03/StockUniteLegale_utf8.zip": STOCK + "StockUniteLegale_utf8.zip",
        "sirene/2026-03/StockEtablissement_utf8.zip": ETAB_ZIP,
    },
    "essfrance": {"essfrance/2023-11/entreprisesess.csv": ESS_CSV},
    "urssaf": {  # by région and for France, as the issue asks
        f"urssaf/2025-09/{URSSAF_ID}.csv": URSSAF_CSV,
        f"urssaf/2025-09/{URSSAF_FRANCE_ID}.csv": URSSAF_FRANCE_CSV,
    },
}


@pytest.fixture()
def server(monkeypatch):
    with RecordedServer() as replay:
        monkeypatch.setenv("OBSERVATORY_DATAGOUV_API", replay.base + "/api/1")
        monkeypatch.setenv("OBSERVATORY_URSSAF_API", replay.base + "/api/explore/v2.1")
        yield replay


@pytest.fixture()
def raw(tmp_path) -> Path:
    """A drop zone already in use: last month's SIRENE and the manifest of a refresh."""
    zone = tmp_path / "raw"
    (zone / "sirene" / "2026-02").mkdir(parents=True)
    (zone / "sirene" / "2026-02" / "StockEtablissement_utf8.zip").write_bytes(b"PK\x03\x04old")
    (zone / "manifest.json").write_text(
        json.dumps({"run_id": "r0", "files": [{"file": "sirene/2026-02/x", "sha256": "0"}]}),
        encoding="utf-8",
    )
    return zone


def recorded(path: str) -> bytes:
    routes = json.loads((RECORDED / "routes.json").read_text(encoding="utf-8"))
    return (RECORDED / routes[path]["file"]).read_bytes()


def state(zone: Path) -> dict[str, bytes | None]:
    """Every file (with its bytes) and folder of the drop zone, its hidden staging aside."""
    return {
        str(p.relative_to(zone)): p.read_bytes() if p.is_file() else None
        for p in zone.rglob("*")
        if not any(part.startswith(".") for part in p.relative_to(zone).parts)
    }


def downloads(zone: Path) -> dict[str, dict]:
    document = json.loads((zone / "manifest.json").read_text(encoding="utf-8"))
    return {entry["file"]: entry for entry in document["downloads"]}


@pytest.mark.parametrize("source", ["sirene", "essfrance", "urssaf"])
def test_each_source_lands_whole_and_checked_in_its_vintage_folder(server, raw, source):
    before = state(raw)
    fetched = download([source], raw)
    after = state(raw)
    assert [f.remote.file for f in fetched] == list(EXPECTED[source])
    for file, path in EXPECTED[source].items():
        assert after[file] == recorded(path)  # byte for byte what the publisher serves
    added = {k for k in after if k not in before and after[k] is not None} - {"manifest.json"}
    assert added == set(EXPECTED[source])
    assert not list((raw / ".downloads").rglob("*.part"))
    # the refresh sees them where it looks, with their source and vintage
    found = {(i.file, i.source, i.vintage) for i in scan_raw(raw)}
    assert {(f, source, f.split("/")[1]) for f in EXPECTED[source]} <= found


def test_the_manifest_records_url_dates_and_checksums_and_a_refresh_keeps_them(server, raw):
    download(None, raw)
    entries = downloads(raw)
    assert set(entries) == {f for files in EXPECTED.values() for f in files}
    etab = entries["sirene/2026-03/StockEtablissement_utf8.zip"]
    body = recorded(ETAB_ZIP)
    assert etab["url"] == server.base + ETAB_ZIP
    assert etab["sha256"] == hashlib.sha256(body).hexdigest() == etab["checksum"]["value"]
    assert etab["bytes"] == len(body) == etab["published_size"]
    assert etab["checked"] == ["taille publiée", "SHA-256 publiée"]
    assert etab["title"] == "Sirene : Fichier StockEtablissement du 01 Mars 2026"
    assert etab["published"].startswith("2026-03-01")
    assert etab["downloaded"].startswith(date.today().isoformat())
    ess = entries["essfrance/2023-11/entreprisesess.csv"]
    assert ess["checksum"] == {"type": "sha1", "value": hashlib.sha1(recorded(ESS_CSV)).hexdigest()}
    assert ess["checked"] == ["taille publiée", "SHA-1 publiée"]
    urssaf = entries[f"urssaf/2025-09/{URSSAF_ID}.csv"]
    assert urssaf["checksum"] is None and urssaf["checked"] == []  # Urssaf publishes neither
    assert urssaf["url"].startswith(server.base + URSSAF_CSV + "?")
    assert "delimiter=%3B" in urssaf["url"] and "use_labels=false" in urssaf["url"]
    france = entries[f"urssaf/2025-09/{URSSAF_FRANCE_ID}.csv"]
    assert france["url"].startswith(server.base + URSSAF_FRANCE_CSV + "?")
    assert france["dataset"] == URSSAF_FRANCE_ID
    # a refresh rewrites the list of loaded files and keeps the record of downloads
    runs.write_manifest(raw, scan_raw(raw), "run-1")
    document = json.loads((raw / "manifest.json").read_text(encoding="utf-8"))
    assert document["run_id"] == "run-1" and len(document["files"]) == 6
    assert {e["file"]: e for e in document["downloads"]} == entries


def test_a_second_download_fetches_only_the_metadata_when_nothing_changed(server, raw):
    download(None, raw)
    before = state(raw)
    server.requests.clear()
    fetched = download(None, raw)
    assert all(f.up_to_date for f in fetched)
    assert {path for path, _ in server.requests} == {
        SIRENE_API,
        ESS_API,
        URSSAF_API,
        URSSAF_FRANCE_API,
    }
    assert state(raw) == before


def test_an_interrupted_download_resumes_where_it_stopped(server, raw):
    server.cut[ETAB_ZIP], server.cut_times[ETAB_ZIP] = 1000, 1
    before = state(raw)
    with pytest.raises(DownloadError, match="connexion coupée après 1,0\u00a0ko"):
        download(["sirene"], raw, attempts=1)
    assert state(raw) == before
    assert (raw / ".downloads" / "sirene" / "StockEtablissement_utf8.zip.part").stat().st_size == (
        1000
    )
    download(["sirene"], raw)
    assert server.ranges(ETAB_ZIP) == [None, "bytes=1000-"]
    assert (raw / "sirene" / "2026-03" / "StockEtablissement_utf8.zip").read_bytes() == recorded(
        ETAB_ZIP
    )


def test_a_cut_is_resumed_within_the_same_run(server, raw):
    server.cut[ETAB_ZIP], server.cut_times[ETAB_ZIP] = 2000, 1
    download(["sirene"], raw, backoff=0.01)
    assert server.ranges(ETAB_ZIP) == [None, "bytes=2000-"]
    assert (raw / "sirene" / "2026-03" / "StockEtablissement_utf8.zip").read_bytes() == recorded(
        ETAB_ZIP
    )


def test_a_file_completed_before_another_failed_is_not_fetched_again(server, raw):
    unit_zip = STOCK + "StockUniteLegale_utf8.zip"
    server.status[ETAB_ZIP] = 404
    with pytest.raises(DownloadError):
        download(["sirene"], raw)
    del server.status[ETAB_ZIP]
    download(["sirene"], raw)
    assert server.ranges(unit_zip) == [None]  # checked again from the staging folder, not sent
    assert (raw / "sirene" / "2026-03" / "StockUniteLegale_utf8.zip").read_bytes() == recorded(
        unit_zip
    )


def test_a_part_of_another_version_or_a_server_ignoring_ranges_restarts_from_zero(server, raw):
    server.cut[ETAB_ZIP], server.cut_times[ETAB_ZIP] = 1000, 1
    with pytest.raises(DownloadError):
        download(["sirene"], raw, attempts=1)
    state_file = raw / ".downloads" / "sirene" / "StockEtablissement_utf8.zip.part.json"
    kept = json.loads(state_file.read_text(encoding="utf-8"))
    kept["fingerprint"]["published"] = "2026-02-01T06:25:12.000000+00:00"  # last month's file
    state_file.write_text(json.dumps(kept), encoding="utf-8")
    download(["sirene"], raw)
    assert server.ranges(ETAB_ZIP) == [None, None]  # never glued onto last month's bytes
    server.cut_times[ETAB_ZIP] = 1
    server.ignore_range.add(ETAB_ZIP)
    (raw / "manifest.json").unlink()  # forget it: fetch again
    download(["sirene"], raw, backoff=0.01)
    assert server.ranges(ETAB_ZIP)[-2:] == [None, "bytes=1000-"]  # answered 200: rewritten
    assert (raw / "sirene" / "2026-03" / "StockEtablissement_utf8.zip").read_bytes() == recorded(
        ETAB_ZIP
    )


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize(
    "case, message",
    [
        ("404", rf"{re.escape(ETAB_ZIP)} : le serveur répond 404 \(introuvable\)$"),
        ("500", rf"{re.escape(SIRENE_API)} : le serveur répond 500 \(erreur du serveur\) après 3 tentatives$"),
        ("html", r"le serveur a renvoyé une page HTML au lieu du fichier attendu$"),
        ("html-api", r"le serveur a renvoyé une page HTML au lieu des métadonnées$"),
        ("checksum", r"empreinte SHA-256 différente de celle publiée \(attendue [0-9a-f]{64}, obtenue [0-9a-f]{64}\) ; fichier écarté$"),
        ("size", r"le serveur annonce 3\u202f337 octets, la taille publiée est 3\u202f332 octets$"),
        ("offline", r"impossible de joindre 127\.0\.0\.1:\d+ \(connexion refusée\) : vérifiez la connexion à Internet ou le proxy \(http_proxy, https_proxy\) après 3 tentatives$"),
    ],
)  # fmt: skip
def test_a_refused_answer_says_why_and_leaves_the_drop_zone_as_it_was(
    server, raw, monkeypatch, case, message
):
    if case == "404":
        server.status[ETAB_ZIP] = 404
    elif case == "500":
        server.status[SIRENE_API] = 500
    elif case == "html":
        server.html.add(ETAB_ZIP)
    elif case == "html-api":
        server.html.add(SIRENE_API)
    elif case == "checksum":
        server.corrupt.add(ETAB_ZIP)
    elif case == "size":
        server.extra[ETAB_ZIP] = b"extra"
    download(["essfrance"], raw)  # an earlier download, whose record must stay
    if case == "offline":
        monkeypatch.setenv("OBSERVATORY_DATAGOUV_API", f"http://127.0.0.1:{closed_port()}/api/1")
    before = state(raw)
    with pytest.raises(DownloadError) as error:
        download(["essfrance", "sirene", "urssaf"], raw, backoff=0.01)
    assert re.search(message, str(error.value)), str(error.value)
    assert "\n" not in str(error.value)
    assert state(raw) == before
    if case in ("html", "checksum", "size"):  # a bad body is not kept for a resume
        assert not (raw / ".downloads" / "sirene" / "StockEtablissement_utf8.zip.part").exists()
    if case == "500":
        assert [p for p, _ in server.requests].count(SIRENE_API) == 3  # retried, bounded


def test_one_download_at_a_time_in_a_drop_zone(server, raw):
    (raw / ".downloads").mkdir()
    with (raw / ".downloads" / ".lock").open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as a download running in another process
        with pytest.raises(DownloadError, match=r"^un autre téléchargement est en cours dans "):
            download(["essfrance"], raw)
    assert not (raw / "essfrance").exists()
    download(["essfrance"], raw)
    assert (raw / "essfrance" / "2023-11" / "entreprisesess.csv").is_file()


def test_the_command_prints_one_line_per_file_or_one_error_line(server, raw):
    env = {
        "OBSERVATORY_RAW": str(raw),
        "OBSERVATORY_DATAGOUV_API": server.base + "/api/1",
        "OBSERVATORY_URSSAF_API": server.base + "/api/explore/v2.1",
    }
    server.status[ESS_CSV] = 404
    before = state(raw)
    failed = run_cli("download", "essfrance", env=env, timeout=120)
    assert failed.returncode == 1
    assert failed.stderr.strip().splitlines() == [
        f"Erreur : {server.base}{ESS_CSV} : le serveur répond 404 (introuvable) ; la zone de "
        f"dépôt {raw} est inchangée"
    ]
    assert state(raw) == before
    del server.status[ESS_CSV]
    done = run_cli("download", "sirene", "essfrance", env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.strip().splitlines()
    assert re.fullmatch(
        r"sirene/2026-03/StockEtablissement_utf8\.zip : 3,3\u00a0ko en \d+,\d\u00a0s, taille "
        r"publiée et SHA-256 publiée vérifiées\.",
        lines[1],
    ), lines
    assert lines[2].startswith("essfrance/2023-11/entreprisesess.csv : ")
    assert lines[-1] == f"Zone de dépôt à jour : {raw} ; lancez `observatory refresh`."
    with pytest.raises(DownloadError, match=r"^source inconnue « insee » \(sources : sirene, "):
        download(["insee"], raw)


def test_the_downloaded_files_are_what_the_loaders_read(server, tmp_path, db):
    zone = tmp_path / "raw"
    download(None, zone)
    inputs = scan_raw(zone)
    for source in sorted({i.source for i in inputs}, key=LOAD_ORDER.index):  # as the refresh
        files = [zone / i.file for i in inputs if i.source == source]
        vintage = int(next(i.vintage for i in inputs if i.source == source)[:4])
        for report in ingest(files, source=source, db_path=db, vintage=vintage):
            assert report.rows_rejected == 0, (report.file, report.examples)
    # independently of the loaders: the recorded bodies, read with the csv module
    listed = {int(row["SIREN"]) for row in read_csv(recorded(ESS_CSV))}
    units = {
        row["siren"]: row for row in read_csv(unzip(recorded(STOCK + "StockUniteLegale_utf8.zip")))
    }
    expected: dict[str, int] = {}
    for row in read_csv(unzip(recorded(ETAB_ZIP))):
        unit = units[row["siren"]]
        if row["etatAdministratifEtablissement"] != "A":
            continue
        if unit["categorieJuridiqueUniteLegale"] == "9220":  # association déclarée
            family = "ASSO"
        elif int(row["siren"]) in listed:  # a company on ESS France's list
            family = "SCESS"
        else:
            continue
        expected[family] = expected.get(family, 0) + 1
    assert expected["SCESS"] == 1  # 005720610, listed by ESS France without its leading zeros
    got = query(
        db,
        "SELECT family_code, sum(establishments) AS n FROM ess_by_territory "
        "WHERE level = 'france' AND year = 2026 GROUP BY 1",
    )
    assert dict(zip(got.family_code, got.n)) == expected
    assert query(db, "SELECT count(*) AS n FROM ess_france_sirens").n[0] == len(listed)
    urssaf = query(
        db,
        "SELECT year, sum(value) AS n FROM published_figures WHERE measure = 'etablissements' "
        "AND level = 'region' AND code = '76' AND family_code <> 'HORS_ESS' GROUP BY 1 ORDER BY 1",
    )
    rows = [r for r in read_csv(recorded(URSSAF_CSV), ";") if r["champ_ess"] == "OUI"]
    assert urssaf.values.tolist() == [
        [year, sum(float(r["nombre_d_etablissements"]) for r in rows if r["annee"] == str(year))]
        for year in (2022, 2023)
    ]
    france = query(
        db,
        "SELECT year, sum(value) AS n FROM published_indicators WHERE indicator = "
        "'urssaf_establishments' AND level = 'france' GROUP BY 1 ORDER BY 1",
    )
    rows = [r for r in read_csv(recorded(URSSAF_FRANCE_CSV), ";") if r["champ_ess"] == "OUI"]
    assert france.values.tolist() == [
        [year, sum(float(r["nombre_d_etablissements"]) for r in rows if r["annee"] == str(year))]
        for year in (2022, 2023)
    ]


def test_the_parquet_stock_files_are_fetched_and_read_too(server, tmp_path, db):
    zone = tmp_path / "raw"
    fetched = download(["sirene"], zone, sirene_format="parquet")
    assert [f.remote.file for f in fetched] == [
        "sirene/2026-03/StockUniteLegale_utf8.parquet",
        "sirene/2026-03/StockEtablissement_utf8.parquet",
    ]
    assert [f.checked for f in fetched] == [["taille publiée"]] * 2  # no checksum published
    reports = ingest(
        [zone / f.remote.file for f in fetched], source="sirene", db_path=db, vintage=2026
    )
    assert [r.rows_read for r in reports] == [34, 50]


def query(db: Path, sql: str):
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(sql).df()


def read_csv(body: bytes, delimiter: str = ",") -> list[dict]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig")), delimiter=delimiter))


def unzip(body: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return archive.read(archive.namelist()[0])


def test_no_download_moves_files_while_a_refresh_loads_them(server, tmp_path):
    """A refresh holds the drop zone from its scan to the end of its loads: a download started
    meanwhile is refused at once with one French line, and runs once the loads are over."""
    zone = tmp_path / "raw"
    download(["essfrance"], zone)
    refused = []

    class Stop(Exception):
        pass

    def on_step(step: str) -> None:
        if step == "entrepôt":  # the files are listed, their loading starts
            with pytest.raises(DownloadError) as error:
                download(["urssaf"], zone)
            refused.append(str(error.value))
            raise Stop  # enough: the refresh ends here, as a failed one

    paths = refresh.Paths(tmp_path / "observatory.duckdb", tmp_path / "site", zone)
    with pytest.raises(Stop):
        refresh.run_refresh(paths, refresh.Options(only=["departement:34"]), on_step)
    assert len(refused) == 1
    assert re.fullmatch(
        rf"une actualisation lit la zone de dépôt {re.escape(str(zone))} \(actualisation : pid "
        r"\d+ sur .+, depuis le \d\d/\d\d/\d{4} à \d\d:\d\d:\d\d\) ; réessayez quand elle aura "
        r"chargé les fichiers",
        refused[0],
    ), refused[0]
    assert not (zone / "urssaf").exists()
    download(["urssaf"], zone)  # the refresh let go of the zone
    assert sorted(p.name for p in (zone / "urssaf" / "2025-09").iterdir()) == sorted(
        f"{dataset}.csv" for dataset in (URSSAF_ID, URSSAF_FRANCE_ID)
    )
