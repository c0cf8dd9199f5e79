"""``observatory refresh`` end to end, as cron or systemd runs it: real warehouse files, real
Jupyter kernels, real processes killed with SIGKILL, a real headless Chromium on the static site."""

from __future__ import annotations

import contextlib
import hashlib
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
import pandas as pd
import pytest
from conftest import OBSERVATORY, ROOT, in_background

from benchmarks.bench_ingest import generate
from observatory import indicators, messages, open_warehouse
from observatory.dashboards import blocks


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
        frame = indicators.compute(wh, "departement", "34", None, themes=list(blocks.THEMES))
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
            frame = indicators.compute(wh, level, code, None, themes=list(blocks.THEMES))
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
