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
import threading
import time
from pathlib import Path

import duckdb
import pandas as pd
import psutil
import pytest
from conftest import OBSERVATORY, ROOT, command_line, in_background

from benchmarks.bench_ingest import generate
from observatory import indicators, open_warehouse
from observatory.ingest.dropzone import scan_raw
from observatory.publish import portrait
from observatory.publish.refresh import (
    Options,
    Paths,
    RefreshError,
    RefreshStopped,
    _Refresh,
    run_refresh,
)
from observatory.views import messages, territory_view


def french_int(n) -> str:
    return f"{int(n):,}".replace(",", "\u202f")


def flat(text: str) -> str:
    """Text with every run of spaces (narrow, no-break, line breaks) as one space."""
    return re.sub(r"-\s+", "-", re.sub(r"[\s\u202f\u00a0]+", " ", text)).strip()


def pdf_pages(path: Path) -> list[str]:
    """The text of each page of a PDF, flattened."""
    from pypdf import PdfReader

    return [flat(page.extract_text()) for page in PdfReader(path).pages]


def env_for(home: Path) -> dict:
    return {
        **os.environ,
        "OBSERVATORY_DB": str(home / "observatory.duckdb"),
        "OBSERVATORY_SITE": str(home / "site"),
        "OBSERVATORY_RAW": str(home / "raw"),
    }


def start_refresh(home: Path, *args: str, workers: int = 1) -> subprocess.Popen:
    return subprocess.Popen(
        [*OBSERVATORY, "refresh", "--workers", str(workers), *args],
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
        assert (site / page["path"]).with_suffix(".pdf").read_bytes().startswith(b"%PDF-")
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
# All a public summary says of a failure.
FAILED = "l'actualisation a échoué ; les données et le site publiés auparavant restent en ligne"


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
def test_a_static_portrait_copied_alone_draws_every_chart_and_its_map_offline_and_prints(
    base, browser, tmp_path
):
    """The page sent by email: copied into an empty folder, opened from disk with no network."""
    alone = tmp_path / "envoi" / "herault.html"
    alone.parent.mkdir()
    shutil.copy(base / "site" / "departement" / "34.html", alone)
    html = alone.read_text(encoding="utf-8")
    context = browser.new_context(offline=True, viewport=dict(width=1200, height=900))
    page = context.new_page()
    problems = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("requestfailed", lambda request: problems.append(request.url))
    page.goto(alone.as_uri())
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=60_000)
    drawn = page.evaluate(
        """[...document.querySelectorAll('.js-plotly-plot')].map(chart => [chart.id,
             chart.querySelectorAll('.main-svg').length,
             chart.querySelectorAll('.scatterlayer path.js-fill').length
               + chart.querySelectorAll('.barlayer path').length
               + chart.querySelectorAll('.scatterlayer path.js-line').length])"""
    )
    epcis = page.evaluate("document.querySelector('[id^=carte-epci]').data.at(-1).ids.length")
    page.emulate_media(media="print")
    page.evaluate("dispatchEvent(new Event('beforeprint'))")
    printed = page.evaluate(
        """({widths: [...document.querySelectorAll('.js-plotly-plot .main-svg')]
               .map(svg => svg.getBoundingClientRect().width),
             modebars: [...document.querySelectorAll('.modebar-container')]
               .filter(bar => bar.offsetParent !== null).length,
             hints: [...document.querySelectorAll('.obs-downloads')]
               .filter(hint => hint.offsetParent !== null).length})"""
    )
    context.close()
    assert problems == []
    assert len(drawn) == html.count("Plotly.newPlot(") >= 6
    assert [chart for chart, svgs, marks in drawn if not svgs or not marks] == []
    assert drawn[0][0].startswith("carte-epci")  # the map first, with every EPCI of Hérault
    assert epcis == len(
        pd.read_parquet(ROOT / "data/reference/epcis.parquet").query("departement_code == '34'")
    )
    assert max(printed["widths"]) <= 700  # A4's text width
    assert printed["modebars"] == printed["hints"] == 0


def test_a_note_from_real_files_names_its_source_and_no_demo(base):
    pages = pdf_pages(base / "site" / "departement" / "34.pdf")
    assert 4 <= len(pages) <= 8
    with open_warehouse(base / "observatory.duckdb") as wh:
        frame = indicators.compute(
            wh, "departement", "34", None, themes=list(territory_view.THEMES)
        )
    source = frame["source"].iloc[0]  # the ESS figures' source, named at the foot of each page
    assert "démonstration" not in " ".join(frame["source"].dropna())
    for number, page in enumerate(pages, start=1):
        assert "Données de démonstration" not in page
        assert f"L'ESS dans l'Hérault · {frame.attrs['year']} ·" in page
        assert f"Source : {flat(source)}" in page
        assert f"page {number} sur {len(pages)}" in page
    assert "Sources et définitions" in pages[-1]


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
    table = portrait.read_table(base / "site" / "departement" / "34.csv", text=True)
    rows = {r["indicateur"]: r for _, r in table.iterrows() if not r["categorie"]}
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
    public = (home / "site" / "runs" / f"{record['run_id']}.json").read_text()
    assert json.loads(public)["error"] == dict(step="entrepôt", message=FAILED)
    assert record["error"]["message"] not in public


@pytest.mark.fault  # the machine lacks Chromium
def test_a_refresh_without_chromium_says_so_and_keeps_the_previous_warehouse_and_site(
    home, monkeypatch
):
    before, served = sha(home / "observatory.duckdb"), site_state(home)
    monkeypatch.setenv("OBSERVATORY_CHROMIUM", str(home / "pas-de-chromium"))
    done = refresh(home, "--only", "departement:34")
    assert done.returncode == 1
    assert "Erreur : actualisation interrompue à l'étape « portraits » : Chromium introuvable" in (
        flat(done.stderr)
    )
    assert "Traceback" not in done.stderr
    assert sha(home / "observatory.duckdb") == before and site_state(home) == served
    assert last_record(home)["error"]["step"] == "portraits"


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


def test_the_demo_refresh_builds_the_figures_of_the_sessions_build(demo_run, wh):
    """A build is deterministic: the refresh's (a process of its own, through the command
    line) gives the figures of the session's build (in the test process), to the last digit."""
    home, done = demo_run()
    assert done.returncode == 0, done.stderr
    query = (
        "SELECT * FROM key_figures WHERE level IN ('departement', 'region') "
        "ORDER BY level, code, year"
    )
    with duckdb.connect(str(home / "observatory.duckdb"), read_only=True) as con:
        rebuilt = con.execute(query).df()
    assert len(rebuilt) > 100
    pd.testing.assert_frame_equal(rebuilt, wh.sql(query))


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
        assert not re.search(r"<script[^>]+src=", page)  # plotly.js is in the page itself
        assert not re.search(r"<link[^>]+href=", page)  # and so is its style
        assert "territoire = " not in page  # no code in the published page
    for level, code in (("region", "76"), ("departement", "34"), ("departement", "48")):
        pages = pdf_pages(site / level / f"{code}.pdf")
        assert 4 <= len(pages) <= 8
        assert all("Données de démonstration" in page for page in pages)
        text = " ".join(pages)
        with open_warehouse(db) as wh:
            place = indicators.resolve(wh, code, level)
            frame = indicators.compute(wh, level, code, None, themes=list(territory_view.THEMES))
            parent = indicators.parent_of(wh, place)
        sentences = messages.key_messages(frame, place, parent, parent)
        assert len(sentences) >= 3
        for sentence in sentences:
            assert flat(sentence) in text, sentence
        for heading in (
            "Chiffres clés",
            "Comparaison, ",
            "Carte par ",
            "Les familles de l'ESS",
            "Les secteurs d'activité",
            "L'évolution de l'emploi de l'ESS",
            "Sources et définitions",
            "Source : Données de démonstration : chiffres synthétiques",
        ):
            assert heading in text, (code, heading)
        assert f"page {len(pages)} sur {len(pages)}" in pages[-1]
        page = (site / level / f"{code}.html").read_text(encoding="utf-8")
        assert f'<a href="{code}.pdf">Note imprimable (PDF)</a>' in page
    index = (site / "index.html").read_text(encoding="utf-8")
    assert index.count("<tr><th scope='row'><a href=") == 3
    assert "Données de démonstration" in index
    record = last_record(tmp_path)
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


def reachable_from(site: Path) -> list[Path]:
    """Every file a web server serving ``site`` (following links) can send."""
    return [
        Path(folder, name)
        for folder, _dirs, names in os.walk(site, followlinks=True)
        for name in names
    ]


def test_the_site_shows_public_summaries_never_the_full_records(base):
    record = last_record(base)
    full_records = (base / "site.runs").resolve()
    served = reachable_from(base / "site")
    assert not [p for p in served if p.resolve().is_relative_to(full_records)]
    summary = json.loads((base / "site" / "runs" / f"{record['run_id']}.json").read_text())
    assert summary["outcome"] == "succès" and summary["error"] is None
    assert summary["counts"]["portraits"] == 1 and summary["counts"]["rows_read"] > 0
    assert [s["step"] for s in summary["steps"]] == [s["step"] for s in record["steps"]]
    assert sorted((i["file"], i["sha256"]) for i in summary["inputs"]) == sorted(
        (name, sha(base / "raw" / "sirene" / "2023" / name))
        for name in ("StockEtablissement_utf8.csv", "StockUniteLegale_utf8.csv")
    )
    text = (base / "site" / "runs" / f"{record['run_id']}.json").read_text()
    for private in (record["host"], str(base), "/tmp/", '"pid"', '"host"'):
        assert private not in text
    index = (base / "site" / "runs" / "index.html").read_text(encoding="utf-8")
    assert f"href='{record['run_id']}.json'" in index and "réussie" in index
    assert "href='runs/index.html'" in (base / "site" / "index.html").read_text()


def test_scan_refuses_links_in_the_drop_zone_without_reading_them(tmp_path):
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "shadow").write_text("root:$6$SECRET:19000:0:99999:7:::\n")
    zone = tmp_path / "raw"
    folder = zone / "essfrance" / "2024"
    folder.mkdir(parents=True)
    (folder / "liste.csv").write_text("siren;nom\n")
    assert [i.file for i in scan_raw(zone)] == ["essfrance/2024/liste.csv"]
    # the drop zone itself may be a link (a mounted volume, say)
    assert [i.file for i in scan_raw(_linked(tmp_path / "zone-link", zone))] == [
        "essfrance/2024/liste.csv"
    ]
    for name, target in (
        ("essfrance/2024/autre.csv", secret / "shadow"),  # a file
        ("essfrance/2025", secret),  # a folder
        ("essfrance/2024/perdu.csv", tmp_path / "absent"),  # a dangling link
    ):
        link = _linked(zone / name, target)
        with pytest.raises(ValueError, match="lien symbolique refusé") as refused:
            scan_raw(zone)
        assert str(link) in str(refused.value) and "SECRET" not in str(refused.value)
        link.unlink()


def _linked(link: Path, target: Path) -> Path:
    link.symlink_to(target)
    return link


def test_a_link_in_the_drop_zone_is_refused_and_nothing_of_it_reaches_the_site(home, tmp_path):
    db, before, served = (
        home / "observatory.duckdb",
        sha(home / "observatory.duckdb"),
        site_state(home),
    )
    # a version published before the summaries existed showed the full records as runs/
    version = (home / "site").resolve()
    (version / "runs").unlink()
    (version / "runs").symlink_to(os.path.relpath(home / "site.runs", version))
    shadow = tmp_path / "shadow"
    shadow.write_text("root:$6$SECRETHASH$abc:19000:0:99999:7:::\n")
    folder = home / "raw" / "essfrance" / "2024"
    folder.mkdir(parents=True)
    (folder / "liste.csv").symlink_to(shadow)
    done = refresh(home, "--only", "departement:34")
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "« fichiers bruts »" in lines[0], done.stderr
    assert "liste.csv : lien symbolique refusé" in lines[0] and "SECRET" not in done.stderr
    record = last_record(home)
    assert record["outcome"] == "échec" and record["error"]["step"] == "fichiers bruts"
    assert "lien symbolique refusé" in record["error"]["message"]
    log = (home / "site.runs" / f"{record['run_id']}.log").read_text(encoding="utf-8")
    assert "lien symbolique refusé" in log
    assert sha(db) == before and site_state(home) == served
    leaked = [
        p
        for p in reachable_from(home / "site") + list((home / "site.runs").iterdir())
        if "SECRET" in p.read_text(encoding="utf-8", errors="replace")
    ]
    assert leaked == []
    full_records = (home / "site.runs").resolve()
    assert not [
        p for p in reachable_from(home / "site") if p.resolve().is_relative_to(full_records)
    ]
    summary = json.loads((home / "site" / "runs" / f"{record['run_id']}.json").read_text())
    assert summary["outcome"] == "échec"
    assert summary["error"] == dict(step="fichiers bruts", message=FAILED)


MARKER = "MARQUE-SECRETE-9c2e"


@pytest.mark.fault  # the drop zone is changed under the running refresh
@pytest.mark.parametrize("swapped", ["file", "folder"])
def test_a_link_swapped_into_the_drop_zone_after_the_scan_is_never_read(tmp_path, swapped):
    """Issue 22: between the scan (each file checksummed) and the loads, the list or its folder
    is swapped for a link to a secret file outside the drop zone. The refresh loads what it
    scanned, and the secret appears nowhere: warehouse, site, run records, logs, manifest."""
    raw = tmp_path / "raw"
    (raw / "insee" / "2014").mkdir(parents=True)
    shutil.copy(
        ROOT / "tests" / "data" / "real" / "insee" / "ITDD-DonneesDetaillees.xls",
        raw / "insee" / "2014",
    )
    folder = raw / "essfrance" / "2024"
    folder.mkdir(parents=True)
    scanned = "siren;nom\n775672272;Coop A\n302456789;Mutuelle B\n"
    (folder / "liste.csv").write_text(scanned)
    secret = tmp_path / "secret"  # lines of a shadow file: today quoted in the records
    secret.mkdir()
    (secret / "liste.csv").write_text(
        "".join(f"{user}:$6${MARKER}$x:19000:0:99999:7:::\n" for user in ("root", "daemon", "bin"))
    )

    def swap(step: str) -> None:
        if step != "entrepôt":  # the files are scanned, their loading starts
            return
        if swapped == "file":
            (folder / "liste.csv").rename(tmp_path / "liste-scannee.csv")
            (folder / "liste.csv").symlink_to(secret / "liste.csv")
        else:
            folder.rename(tmp_path / "2024-scanne")
            folder.symlink_to(secret)
        assert MARKER in (folder / "liste.csv").read_text()  # the drop-zone path leads there

    paths = Paths(tmp_path / "observatory.duckdb", tmp_path / "site", raw)
    with contextlib.suppress(RefreshError):  # a refusal leaves its records: read them too
        run_refresh(paths, Options(only=["departement:34"], workers=1), swap)
    leaked = [
        str(p.relative_to(tmp_path))
        for p in tmp_path.rglob("*")
        if p.is_file()
        and not p.is_symlink()
        and not p.is_relative_to(secret)
        and MARKER.encode() in p.read_bytes()
    ]
    assert leaked == []
    assert last_record(tmp_path)["outcome"] == "succès"  # what was scanned is loaded
    shown = str(raw.resolve() / "essfrance" / "2024" / "liste.csv")
    digest = hashlib.sha256(scanned.encode()).hexdigest()
    with duckdb.connect(str(paths.db), read_only=True) as con:
        assert con.execute(
            "SELECT file, file_sha256, rows_read, rows_rejected FROM sources "
            "WHERE source = 'essfrance'"
        ).fetchall() == [(shown, digest, 2, 0)]
        assert sorted(con.execute("SELECT siren FROM ess_france_sirens").fetchall()) == [
            (302456789,),
            (775672272,),
        ]
        tables = [t for (t,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        for needle in (MARKER, ".refresh-"):  # nor the secret, nor a staged file's path
            holding = [
                t
                for t in tables
                if con.execute(
                    f'SELECT count(*) FROM "{t}" AS t WHERE strpos(CAST(t AS VARCHAR), ?) > 0',
                    [needle],
                ).fetchall()[0][0]
            ]
            assert holding == [], needle
    entries = json.loads((raw / "manifest.json").read_text(encoding="utf-8"))["files"]
    assert {e["file"]: e["sha256"] for e in entries}["essfrance/2024/liste.csv"] == digest
    assert not list(tmp_path.glob(".observatory.duckdb.refresh-*"))  # staged files removed


def descendants(pid: int) -> list[psutil.Process]:
    with contextlib.suppress(psutil.NoSuchProcess):
        return psutil.Process(pid).children(recursive=True)
    return []


def kernels(processes: list[psutil.Process]) -> list[psutil.Process]:
    return [process for process in processes if "ipykernel_launcher" in command_line(process)]


@contextlib.contextmanager
def rendering(home: Path, workers: int = 2):
    """A refresh of three portraits on ``workers`` workers, yielded (with its workers and their
    kernels) once every kernel has started; whatever the test leaves alive is killed after."""
    proc = start_refresh(
        home, "--only", "departement:34,departement:48,departement:11", workers=workers
    )
    started = []
    try:
        deadline = time.monotonic() + 600
        while len(kernels(descendants(proc.pid))) < workers and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.2)
        started = descendants(proc.pid)
        assert len(kernels(started)) == workers
        yield proc, started
    finally:
        for process in [psutil.Process(proc.pid), *started] if proc.poll() is None else started:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        proc.communicate(timeout=60)


def still_alive(processes: list[psutil.Process], timeout: float = 30) -> list[psutil.Process]:
    _gone, alive = psutil.wait_procs(processes, timeout=timeout)
    return alive


@pytest.mark.fault
def test_a_refresh_killed_outright_takes_its_workers_and_kernels_along(home):
    with rendering(home) as (proc, started):
        os.kill(proc.pid, signal.SIGKILL)  # the refresh alone, as `kill -9 <pid>` does
        proc.wait(timeout=60)
        assert still_alive(started) == []
    step = last_record(home)["steps"][-1]  # what the next refresh marks « interrompue »
    assert (step["step"], step["outcome"]) == ("portraits", "en cours")


@pytest.mark.fault
def test_a_refresh_stopped_by_sigterm_cleans_up_and_records_it(home):
    db, before, served = (
        home / "observatory.duckdb",
        sha(home / "observatory.duckdb"),
        site_state(home),
    )
    versions = sorted(p.name for p in (home / "site.versions").iterdir())
    with rendering(home) as (proc, started):
        os.kill(proc.pid, signal.SIGTERM)  # as `systemctl stop` or `kill <pid>` does
        _out, err = proc.communicate(timeout=120)
        assert proc.returncode == 128 + signal.SIGTERM
        errors = [line for line in err.splitlines() if line.startswith("Erreur")]
        assert len(errors) == 1 and errors[0].startswith(
            "Erreur : actualisation arrêtée par le signal SIGTERM pendant l'étape « portraits » ;"
            " l'entrepôt et le site précédents sont conservés"
        ), err
        assert "Traceback" not in err
        assert still_alive(started) == []
    record = last_record(home)
    assert record["outcome"] == "arrêtée" and record["ended"]
    assert record["error"]["step"] == "portraits"
    assert [s["outcome"] for s in record["steps"]][-1] == "arrêtée"
    assert sha(db) == before and site_state(home) == served
    assert sorted(p.name for p in (home / "site.versions").iterdir()) == versions
    assert not list(home.glob(".observatory.duckdb.refresh-*"))
    summary = json.loads((home / "site" / "runs" / f"{record['run_id']}.json").read_text())
    assert summary["outcome"] == "arrêtée"
    assert summary["error"]["message"].startswith("l'actualisation a été arrêtée avant la fin")


@pytest.mark.fault
def test_a_refresh_stopped_while_loading_records_it(home):
    """SIGTERM while DuckDB builds and loads: DuckDB turns the signal into its own error
    (« Query interrupted »), which must not pass for a failure of the step."""
    db, before = home / "observatory.duckdb", sha(home / "observatory.duckdb")
    proc = start_refresh(home, "--only", "departement:34")
    log, deadline = None, time.monotonic() + 300
    while time.monotonic() < deadline:
        log = next((home / "site.runs").glob(f"*-{proc.pid}.log"), None)
        if log and "début de l'étape « entrepôt »" in log.read_text(encoding="utf-8"):
            break
        time.sleep(0.1)
    time.sleep(2)  # inside the build of the new warehouse
    os.kill(proc.pid, signal.SIGTERM)
    _out, err = proc.communicate(timeout=300)
    assert proc.returncode == 128 + signal.SIGTERM, err
    record = json.loads(log.with_suffix(".json").read_text(encoding="utf-8"))
    assert record["outcome"] == "arrêtée", record["error"]
    assert record["error"]["step"] == "entrepôt"
    assert sha(db) == before
    assert not list(home.glob(".observatory.duckdb.refresh-*"))


def test_a_signal_duckdb_turns_into_its_own_error_stops_the_step_without_failing_it(tmp_path):
    """DuckDB runs the refresh's signal handler while a query runs, drops the exception it
    raises and ends the query with its own RuntimeError (« Query interrupted »): the step is
    stopped, as the signal asked, not failed."""
    paths = Paths(tmp_path / "observatory.duckdb", tmp_path / "site", tmp_path / "raw")
    run = _Refresh(paths, Options(), None)
    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM))

    def long_query():
        timer.start()
        with duckdb.connect() as con:
            con.execute("SELECT count(*) FROM range(400000000) WHERE random() > 2").fetchall()

    try:
        with run._stop_signals(), pytest.raises(RefreshStopped):
            run._step("entrepôt", long_query)
    finally:
        timer.cancel()  # a query done before the signal: no SIGTERM left for pytest itself
        for handler in run.log.handlers:
            handler.close()
    assert run.stop_pending == signal.SIGTERM
    assert run.record.steps[-1]["outcome"] == "en cours"  # which run() then marks « arrêtée »
