"""``observatory refresh`` end to end, as cron or systemd runs it: real warehouse files, real
Jupyter kernels, real processes killed with SIGKILL, a real headless Chromium on the static site."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import html
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from conftest import OBSERVATORY, ROOT, in_background

from benchmarks.bench_ingest import generate


def french_int(n) -> str:
    return f"{int(n):,}".replace(",", "\u202f")


def env_for(home: Path) -> dict:
    return {
        **os.environ,
        "OBSERVATORY_DB": str(home / "observatory.duckdb"),
        "OBSERVATORY_SITE": str(home / "site"),
        "OBSERVATORY_RAW": str(home / "raw"),
    }


def start_refresh(home: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [*OBSERVATORY, "refresh", "--workers", "1", *args],
        cwd=ROOT,
        env=env_for(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def refresh(home: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    proc = start_refresh(home, *args)
    out, err = proc.communicate(timeout=timeout)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def add_sirene(home: Path, vintage: str, establishments: int = 40_000) -> None:
    folder = home / "raw" / "sirene" / vintage
    folder.mkdir(parents=True)
    generate(folder, establishments, establishments * 7 // 10)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def years(db: Path) -> list[int]:
    with duckdb.connect(str(db), read_only=True) as con:
        return [
            y
            for (y,) in con.execute(
                "SELECT DISTINCT year FROM ess_by_territory ORDER BY year"
            ).fetchall()
        ]


def site_state(home: Path) -> str:
    """The run id of the site version served, after checking that the version is complete."""
    site = home / "site"
    release = json.loads((site / "release.json").read_text(encoding="utf-8"))
    assert (site / "index.html").read_text(encoding="utf-8").rstrip().endswith("</html>")
    for page in release["pages"]:
        text = (site / page["path"]).read_text(encoding="utf-8")
        assert text.rstrip().endswith("</html>"), page["path"]
        assert (site / page["path"]).with_suffix(".csv").is_file()
    return release["run_id"]


def last_record(home: Path) -> dict:
    records = sorted((home / "site.runs").glob("*.json"))
    return json.loads(records[-1].read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def base(tmp_path_factory, request) -> Path:
    """A refreshed observatory built from raw SIRENE files (2023): warehouse and site."""
    home = tmp_path_factory.mktemp("refresh-base")
    add_sirene(home, "2023")
    done = refresh(home, "--only", "departement:34")
    assert done.returncode == 0, done.stderr
    if any("demo_run" in item.fixturenames for item in request.session.items):
        # Started now, once the base's duration is recorded (the random kills below are drawn
        # from it): it runs beside the tests that follow, on the second core.
        request.getfixturevalue("demo_run")
    return home


DEMO_ONLY = "region:76,departement:34,departement:48"


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """A demo refresh (no raw file) in a folder of its own, started in the background;
    ``demo_run()`` waits for it and gives (home, CompletedProcess)."""
    home = tmp_path_factory.mktemp("refresh-demo")
    logs = tmp_path_factory.mktemp("refresh-demo-logs")
    with in_background(
        ["refresh", "--workers", "1", "--only", DEMO_ONLY], logs, timeout=600, env=env_for(home)
    ) as wait:
        yield lambda: (home, wait())


@pytest.fixture
def home(base, tmp_path) -> Path:
    """A private copy of the base observatory."""
    target = tmp_path / "obs"
    shutil.copytree(base, target, symlinks=True)
    return target


@pytest.mark.browser
def test_static_portrait_draws_its_charts_from_disk_without_network(base, browser):
    page_path = base / "site" / "departement" / "34.html"
    context = browser.new_context(offline=True)
    page = context.new_page()
    page.goto(page_path.as_uri())
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)
    charts = page.locator(".js-plotly-plot").count()
    title = page.locator("h1").first.inner_text()
    context.close()
    assert charts >= 3
    assert "Hérault" in title


def test_raw_files_feed_the_warehouse_and_the_manifest(base):
    assert years(base / "observatory.duckdb") == [2023]
    with duckdb.connect(str(base / "observatory.duckdb"), read_only=True) as con:
        # the communes' secrecy masks, dropped by the loads, are stored again for 2023
        assert con.execute(
            "SELECT count(DISTINCT departement_code), min(year), max(year) FROM commune_masks"
        ).fetchall() == [(101, 2023, 2023)]
    manifest = json.loads((base / "raw" / "manifest.json").read_text(encoding="utf-8"))
    files = {entry["file"]: entry for entry in manifest["files"]}
    for name in ("StockEtablissement_utf8.csv", "StockUniteLegale_utf8.csv"):
        entry = files[f"sirene/2023/{name}"]
        assert entry["sha256"] == sha(base / "raw" / "sirene" / "2023" / name)
    record = last_record(base)
    assert record["demo"] is False
    assert (
        record["counts"]["rows_read"]
        == (record["counts"]["rows_loaded"] + record["counts"]["rows_rejected"])
        > 0
    )
    assert all(i["new"] for i in record["inputs"])


def test_a_sirene_site_says_its_figures_are_estimates(base):
    page = html.unescape((base / "site" / "departement" / "34.html").read_text(encoding="utf-8"))
    assert "Postes salariés de l'ESS (estimation)" in page
    assert "estimation d'après le répertoire SIRENE (INSEE), stock de 2023" in page
    assert "Clap (jusqu'en 2015) puis Flores" not in page and "série Flores" not in page
    with (base / "site" / "departement" / "34.csv").open(encoding="utf-8") as handle:
        rows = {r["indicateur"]: r for r in csv.DictReader(handle) if not r["categorie"]}
    for code in ("ess_fte", "ess_gross_wages"):  # SIRENE gives neither
        assert (rows[code]["valeur"], rows[code]["affichage"]) == ("", "n.d."), code


def test_a_refresh_of_the_itdd_workbook_alone_publishes_insee_figures(tmp_path):
    """A drop zone holding only INSEE's ITDD workbook: a site of n.d. and INSEE's figures."""
    folder = tmp_path / "raw" / "insee" / "2014"
    folder.mkdir(parents=True)
    shutil.copy(ROOT / "tests" / "data" / "real" / "insee" / "ITDD-DonneesDetaillees.xls", folder)
    done = refresh(tmp_path, "--only", "departement:34")
    assert done.returncode == 0, done.stderr
    page = html.unescape((tmp_path / "site" / "departement" / "34.html").read_text("utf-8"))
    assert "Les chiffres publiés" in page
    assert "Part de l'ESS dans l'emploi salarié (chiffre publié par l'INSEE)" in page
    assert "11,2\u202f%" in page and "INSEE, Clap 2014, Indicateurs territoriaux" in page
    assert "Données de démonstration" not in page
    assert last_record(tmp_path)["outcome"] == "succès"  # audited, then swapped in


def test_a_failed_refresh_keeps_the_previous_warehouse_and_site(home):
    db, before, served = (
        home / "observatory.duckdb",
        sha(home / "observatory.duckdb"),
        site_state(home),
    )
    bad = home / "raw" / "sirene" / "2024"
    bad.mkdir(parents=True)
    (bad / "StockEtablissement_utf8.csv").write_text("ceci,n'est,pas\nun,fichier,sirene\n")
    done = refresh(home, "--only", "departement:34")
    assert done.returncode == 1
    assert "Erreur : actualisation interrompue à l'étape « entrepôt »" in done.stderr
    assert "StockEtablissement_utf8.csv" in done.stderr
    assert "Traceback" not in done.stderr
    assert sha(db) == before and site_state(home) == served
    record = last_record(home)
    assert record["outcome"] == "échec" and record["error"]["step"] == "entrepôt"
    assert not list(home.glob(".observatory.duckdb.refresh-*"))


HOLD_LOCK = """
import fcntl, sys, time
handle = open(sys.argv[1], "a")
fcntl.flock(handle, fcntl.LOCK_EX)  # as observatory download holds it while it runs
print("held", flush=True)
time.sleep(600)
"""


def test_a_refresh_does_not_read_a_drop_zone_that_a_download_is_filling(tmp_path):
    """While a download holds the drop zone (it may be moving files in), the refresh reads
    nothing, changes nothing and says why; once it is over, the refresh runs."""
    add_sirene(tmp_path, "2023", establishments=2_000)
    lock = tmp_path / "raw" / ".downloads" / ".lock"
    lock.parent.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(lock)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        done = refresh(tmp_path, "--only", "departement:34")
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 1
    assert (
        "Erreur : actualisation interrompue à l'étape « fichiers bruts » : un téléchargement "
        f"remplit la zone de dépôt {tmp_path / 'raw'}"
    ) in done.stderr
    assert not (tmp_path / "observatory.duckdb").exists() and not (tmp_path / "site").exists()
    record = last_record(tmp_path)
    assert record["error"]["step"] == "fichiers bruts" and record["inputs"] == []
    done = refresh(tmp_path, "--only", "departement:34")
    assert done.returncode == 0, done.stderr
    assert lock.read_text(encoding="utf-8") == ""  # released, with no holder left named


UNIT_HEADER = ROOT / "tests" / "data" / "real" / "sirene" / "StockUniteLegale_v3_2019_sample.csv"
ESTABLISHMENT_HEADER = (
    ROOT / "tests" / "data" / "real" / "sirene" / "StockEtablissement_extract_2021-11_part1.csv"
)


def sirene_month(folder: Path, states: dict[str, str]) -> None:
    """StockUniteLegale and StockEtablissement of one month: one association (9220) per
    establishment (SIRET → state), each an employer of 10 to 19 employees in Montpellier."""
    folder.mkdir(parents=True)
    for header_file, name, rows in (
        (
            UNIT_HEADER,
            "StockUniteLegale_utf8.csv",
            [
                dict(
                    siren=siret[:9],
                    etatAdministratifUniteLegale="A",
                    categorieJuridiqueUniteLegale="9220",
                    economieSocialeSolidaireUniteLegale="O",
                )
                for siret in states
            ],
        ),
        (
            ESTABLISHMENT_HEADER,
            "StockEtablissement_utf8.csv",
            [
                dict(
                    siren=siret[:9],
                    siret=siret,
                    etatAdministratifEtablissement=state,
                    caractereEmployeurEtablissement="O",
                    trancheEffectifsEtablissement="11",
                    codeCommuneEtablissement="34172",
                    activitePrincipaleEtablissement="88.10A",
                    nomenclatureActivitePrincipaleEtablissement="NAFRev2",
                )
                for siret, state in states.items()
            ],
        ),
    ):
        header = header_file.open(encoding="utf-8").readline().strip().split(",")
        with (folder / name).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, header, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)


def test_two_months_of_one_year_in_the_drop_zone_the_newest_stock_wins(tmp_path):
    """``sirene/2024-01/`` and ``sirene/2024-03/``: the refresh loads January, then March, whose
    stock replaces January's (an establishment closed since is gone, a new one is there)."""
    january = {"10000000100001": "A", "10000000200001": "A", "10000000300001": "A"}
    march = {"10000000100001": "A", "10000000200001": "A", "10000000300001": "F"}
    march["10000000400001"] = "A"
    sirene_month(tmp_path / "raw" / "sirene" / "2024-01", january)
    sirene_month(tmp_path / "raw" / "sirene" / "2024-03", march)
    done = refresh(tmp_path, "--only", "departement:34")
    assert done.returncode == 0, done.stderr
    active = sorted(int(siret) for siret, state in march.items() if state == "A")
    with duckdb.connect(str(tmp_path / "observatory.duckdb"), read_only=True) as con:
        stored = con.execute(
            "SELECT siret, file FROM sirene_establishments WHERE vintage = 2024 ORDER BY 1"
        ).fetchall()
        counted = con.execute(
            "SELECT year, sum(establishments) FROM ess_by_territory "
            "WHERE level = 'departement' AND code = '34' GROUP BY 1"
        ).fetchall()
    assert [siret for siret, _ in stored] == active
    assert {Path(file).parent.name for _, file in stored} == {"2024-03"}
    assert counted == [(2024, len(active))]
    record = last_record(tmp_path)
    assert [i["vintage"] for i in record["inputs"]] == ["2024-01"] * 2 + ["2024-03"] * 2


@pytest.mark.fault
def test_two_refreshes_at_once_one_runs_and_readers_never_see_an_error_or_a_mix(home):
    db = home / "observatory.duckdb"
    add_sirene(home, "2024", establishments=41_000)
    old = reader_snapshot(db)
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    first = start_refresh(home, "--only", "departement:34")
    lock = home / ".observatory.duckdb.refresh.lock"
    deadline = time.monotonic() + 60
    while (
        not lock.exists() or f"pid {first.pid} " not in lock.read_text()
    ) and time.monotonic() < deadline:
        time.sleep(0.1)
    second = refresh(home, "--only", "departement:34")
    _out, err = first.communicate(timeout=600)
    new = reader_snapshot(db)
    read, deadline = [], time.monotonic() + 60
    while line := reader.stdout.readline():  # until the reader has read the new warehouse
        read.append(line)
        if line.strip() == json.dumps(new) or time.monotonic() > deadline:
            break
    reader.send_signal(signal.SIGTERM)
    seen, errors = "".join(read) + reader.stdout.read(), reader.stderr.read()
    reader.wait(timeout=60)
    assert second.returncode == 3
    assert "une actualisation est déjà en cours" in second.stderr
    assert first.returncode == 0, err
    assert new != old and years(db) == [2023, 2024]
    snapshots = [json.loads(line) for line in seen.splitlines()]
    assert errors == "" and len(snapshots) > 10
    assert {json.dumps(s) for s in snapshots} <= {json.dumps(old), json.dumps(new)}
    assert json.dumps(new) in {json.dumps(s) for s in snapshots}  # the swap happened while reading


# The reader stops between two reads when the test is done: a handler that raised at once
# would interrupt the query under way, an error of the test's own making.
READER = """
import json, signal, sys, duckdb
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
while not stop:
    with duckdb.connect(sys.argv[1], read_only=True) as con:
        rows = con.execute("SELECT year, sum(employees), sum(establishments) FROM ess_by_territory "
                           "WHERE level = 'departement' GROUP BY year ORDER BY year").fetchall()
    print(json.dumps([list(map(float, r)) for r in rows]), flush=True)
"""


def reader_snapshot(db: Path) -> list:
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "SELECT year, sum(employees), sum(establishments) FROM ess_by_territory "
            "WHERE level = 'departement' GROUP BY year ORDER BY year"
        ).fetchall()
    return [list(map(float, r)) for r in rows]


def test_demo_refresh_publishes_portraits_with_the_warehouse_figures(demo_run):
    """The refresh ran beside the tests above (started by ``base``), alone if they were not run."""
    tmp_path, done = demo_run()
    assert done.returncode == 0, done.stderr
    assert "Actualisation réussie" in done.stderr
    db, site = tmp_path / "observatory.duckdb", tmp_path / "site"
    with duckdb.connect(str(db), read_only=True) as con:
        figures = dict(
            con.execute(
                "SELECT code, ess_employees FROM key_figures WHERE level = 'departement' "
                "AND code IN ('34', '48') AND year = (SELECT max(year) FROM key_figures)"
            ).fetchall()
        )
    for code, employees in figures.items():
        page = (site / "departement" / f"{code}.html").read_text(encoding="utf-8")
        cards = re.findall(
            r'class="obs-card-label">([^<]*)</div><div class="obs-card-value">'
            r"([^<]*)<",
            page,
        )
        assert ("Postes salariés de l'ESS", french_int(employees)) in cards
        assert "Données de démonstration" in page
        assert '<script src="../assets/plotly.min.js"></script>' in page
        assert not re.search(r"<script[^>]+src=\"https?://", page)  # nothing from a CDN
        assert "territoire = " not in page  # no code in the published page
    index = (site / "index.html").read_text(encoding="utf-8")
    assert index.count("<tr><th scope='row'><a href=") == 3
    assert "Données de démonstration" in index
    record = json.loads((site / "runs" / f"{last_record(tmp_path)['run_id']}.json").read_text())
    assert record["outcome"] == "succès" and record["demo"] is True
    assert [s["step"] for s in record["steps"]] == [
        "fichiers bruts",
        "entrepôt",
        "contrôles",
        "portraits",
        "contrôle du secret statistique",
        "bascule",
    ]
    assert all(s["outcome"] == "réussie" and s["seconds"] >= 0 for s in record["steps"])
    assert record["counts"]["portraits"] == 3 and record["counts"]["secret_cells_checked"] > 0
    assert (tmp_path / "site.runs" / f"{record['run_id']}.log").read_text().count("portrait ") == 3


@pytest.mark.fault
def test_refresh_killed_at_random_moments_leaves_old_or_new_and_recovers(home):
    db = home / "observatory.duckdb"
    old = (sha(db), site_state(home))
    duration = last_record(home)["seconds"]
    add_sirene(home, "2024", establishments=41_000)
    rng = random.Random(20261122)
    outcomes = []
    for _ in range(6):
        proc = start_refresh(home, "--only", "departement:34")
        with contextlib.suppress(subprocess.TimeoutExpired):  # the moment, unless it ended before
            proc.wait(timeout=rng.uniform(0.2, duration * 1.1))
        with contextlib.suppress(ProcessLookupError):  # unless it had already finished
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
        state = (sha(db), site_state(home))  # site_state checks the version is complete
        assert years(db) in ([2023], [2023, 2024])
        if state != old:
            assert years(db) == [2023, 2024]
        outcomes.append(proc.returncode)
        old = state
    done = refresh(home, "--only", "departement:34")
    assert done.returncode == 0, done.stderr
    assert years(db) == [2023, 2024]
    assert last_record(home)["outcome"] == "succès"
    records = [json.loads(p.read_text()) for p in (home / "site.runs").glob("*.json")]
    assert not [r for r in records if r["outcome"] == "en cours"]
    assert not list(home.glob(".observatory.duckdb.refresh-*"))
    assert len(list((home / "site.versions").iterdir())) <= 2
    assert outcomes.count(-signal.SIGKILL) >= 3  # most runs really were killed mid-way
