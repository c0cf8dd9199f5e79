"""Loads are atomic, idempotent, refused over the reject threshold, and never mix with demo data."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pandas as pd
import pytest
from conftest import ROOT, run_cli, run_clis
from ingest_helpers import query, write

from observatory import indicators, open_warehouse
from observatory.ingest import IngestError, ingest
from observatory.warehouse.build import store_masks


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cress(tmp_path, name, rows):
    return write(
        tmp_path / name,
        "niveau;code;annee;famille;secteur;mesure;valeur\n" + "".join(r + "\n" for r in rows),
    )


def test_loading_the_same_file_twice_does_not_double_count(db, tmp_path):
    path = cress(tmp_path, "a.csv", ["region;76;2023;ASSO;;etablissements;10"])
    ingest([path], db_path=db)
    second = ingest([path], db_path=db)[0]
    assert second.skipped
    assert query(db, "SELECT sum(value) AS n FROM published_figures").n[0] == 10
    corrected = cress(tmp_path, "b.csv", ["region;76;2023;ASSO;;etablissements;12"])
    ingest([corrected], db_path=db)
    assert (
        query(db, "SELECT sum(value) AS n FROM published_figures").n[0] == 12
    )  # replaced, not added
    assert query(db, "SELECT count(*) AS n FROM sources WHERE source = 'cress'").n[0] == 2


def test_a_file_over_the_reject_threshold_leaves_the_previous_warehouse(db, tmp_path):
    good = cress(tmp_path, "good.csv", ["region;76;2023;ASSO;;etablissements;10"])
    bad = cress(tmp_path, "bad.csv", ["region;76;2023;COOP;;etablissements;-1"])
    before = sha(db)
    with pytest.raises(
        IngestError, match=r"bad.csv, ligne 2, colonne valeur, valeur « -1 » : valeur négative"
    ):
        ingest([good, bad], db_path=db)
    assert sha(db) == before  # all of the call or nothing: good.csv is not loaded either
    assert [p.name for p in db.parent.iterdir()] == [db.name]


def test_ingest_into_a_demo_warehouse_is_refused(warehouse_path, tmp_path):
    path = cress(tmp_path, "a.csv", ["region;76;2023;ASSO;;etablissements;10"])
    result = run_cli("ingest", str(path), "--db", str(warehouse_path))
    assert result.returncode == 1
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("Erreur : ") and "démonstration" in message and "--no-demo" in message


def test_cli_ingest_sources_and_rejects(db, tmp_path):
    rows = ["region;76;2023;ASSO;;etablissements;10"] * 1 + [
        f"region;76;{y};ASSO;;etablissements;1" for y in range(1990, 2023)
    ]
    rows.append("region;76;2023;ASSO;;etablissements;x")
    path = cress(tmp_path, "cress.csv", rows)
    result = run_cli("ingest", str(path), "--db", str(db))
    assert result.returncode == 0, result.stderr
    assert "35 lignes lues, 34 chargées, 1 rejetées" in result.stderr
    sources, rejects = (
        r.stdout
        for r in run_clis(
            ["sources", "--db", str(db)], ["rejects", "--source", "cress", "--db", str(db)]
        )
    )
    assert "cress," in sources and ",35,34,1," in sources
    rejects = rejects.splitlines()
    assert rejects[0] == "source,file,line,column,value,reason"
    assert rejects[1].endswith(",36,valeur,x,valeur non numérique")


def test_an_ingest_drops_the_stored_commune_masks_and_a_refresh_stores_them_again(db, tmp_path):
    """Masks stored at build were solved on that build's facts: an ingest drops them (portraits
    then solve theirs on first use), and ``store_masks`` (the refresh's last load step) stores
    the same masks as those solved on demand."""
    sirens = [f"{200000000 + i}" for i in range(9)]
    units = write(
        tmp_path / "StockUniteLegale_2023.csv",
        "siren,etatAdministratifUniteLegale,categorieJuridiqueUniteLegale,"
        "economieSocialeSolidaireUniteLegale\n" + "".join(f"{s},A,9220,\n" for s in sirens),
    )
    places = [("34172", "88.10A")] * 5 + [("34172", "85.59A"), ("34003", "88.10A")] * 2
    establishments = write(
        tmp_path / "StockEtablissement_2023.csv",
        "siren,siret,etatAdministratifEtablissement,caractereEmployeurEtablissement,"
        "trancheEffectifsEtablissement,codeCommuneEtablissement,activitePrincipaleEtablissement\n"
        + "".join(
            f"{s},{s}00011,A,O,12,{commune},{naf}\n" for s, (commune, naf) in zip(sirens, places)
        ),
    )
    ingest([establishments, units], db_path=db)
    assert query(db, "SELECT count(*) AS n FROM commune_masks").n[0] == 0
    with open_warehouse(db) as wh:
        solved = [indicators.compute(wh, "commune", code, 2023) for code in ("34172", "34003")]
    store_masks(db)
    assert query(db, "SELECT count(*) AS n FROM commune_masks").n[0] == 101  # one year
    with open_warehouse(db) as wh:
        for frame, code in zip(solved, ("34172", "34003")):
            pd.testing.assert_frame_equal(indicators.compute(wh, "commune", code, 2023), frame)
    assert solved[0]["secret"].any() and not solved[0]["secret"].all()
    ingest([cress(tmp_path, "cress.csv", ["region;76;2023;ASSO;;etablissements;10"])], db_path=db)
    assert query(db, "SELECT count(*) AS n FROM commune_masks").n[0] == 0


# Runs the command in-process, then names the heavy libraries it imported.
IMPORTS_PROBE = """
import sys
from observatory.cli import app
try:
    app(sys.argv[1:])
except SystemExit as exit:
    assert not exit.code, exit.code
print(*[name for name in ("pandas", "geopandas", "numpy") if name in sys.modules])
"""


def test_a_sirene_load_runs_without_pandas(db, real_data):
    """Loading SIRENE files (the national files take most of a refresh) leaves pandas, geopandas
    and numpy out: importing them took 1.3 s of the national benchmark's load."""
    sirene = real_data / "sirene"
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            IMPORTS_PROBE,
            "ingest",
            "--vintage",
            "2021",
            "--db",
            str(db),
            str(sirene / "StockUniteLegale_ess_numerique_extract.csv"),
            str(sirene / "StockEtablissement_extract_2021-11_part1.csv"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert "StockEtablissement_extract_2021-11_part1.csv (sirene, 2021)" in result.stderr
    assert query(db, "SELECT count(*) AS n FROM sirene_establishments").n[0] > 0
    assert result.stdout.split() == []


def test_every_real_file_loaded_twice_leaves_every_command_working(db, tmp_path, real_data):
    """A CRESS analyst's try (issue 22): a warehouse for real files, every real file of the
    tests and every template loaded twice, then every reading command; the warehouse's own
    health check must not take DuckDB's trimmed file for a damaged one."""
    sirene, templates = real_data / "sirene", ROOT / "data" / "templates"
    loads = [
        [
            "--vintage",
            "2021",
            str(sirene / "StockUniteLegale_ess_numerique_extract.csv"),
            str(sirene / "StockEtablissement_extract_2021-11_part1.csv"),
        ],
        [str(sirene / "StockUniteLegale_v3_2019_sample.csv")],
        [str(real_data / "insee" / "ITDD-DonneesDetaillees.xls")],
        [str(path) for path in sorted(templates.glob("*.csv"))],
    ]
    for _ in range(2):
        for files in loads:
            result = run_cli("ingest", "--db", str(db), *files)
            assert result.returncode == 0, result.stderr
            open_warehouse(db).close()  # what every reading command does first
    commands = [
        ["sources"],
        ["rejects"],
        ["info"],
        ["query", "SELECT count(*) AS n FROM published_figures"],
        ["portrait", "34"],
    ]
    results = run_clis(*([*command, "--db", str(db)] for command in commands))
    for command, result in zip(commands[:4], results):
        assert result.returncode == 0 and "Erreur" not in result.stderr, (command, result.stderr)
    assert results[3].stdout.splitlines()[1] == "4365"  # ITDD (4 354) and the CRESS example (11)
    # The real extracts share no SIREN: no ESS figure yet; the portrait shows the published
    # figures (INSEE's ITDD share, the CRESS example) and « n.d. » for the ESS's own.
    assert results[4].returncode == 0, results[4].stderr
    shown = {row["indicateur"]: row for row in json.loads(results[4].stdout)["indicateurs"]}
    assert shown["ess_employees"]["valeur"] is None
    assert shown["ess_employees"]["affichage"] == "n.d."
    units = write(
        tmp_path / "StockUniteLegale_2021.csv",
        "siren,categorieJuridiqueUniteLegale\n"
        + "".join(
            f"{siren:09d},9220\n"
            for siren in query(db, "SELECT DISTINCT siren FROM sirene_establishments").siren
        ),
    )
    assert run_cli("ingest", "--db", str(db), str(units)).returncode == 0
    portrait = run_cli("portrait", "34", "--db", str(db))
    assert portrait.returncode == 0, portrait.stderr
    figures = json.loads(portrait.stdout)
    [establishments] = [
        row for row in figures["indicateurs"] if row["indicateur"] == "ess_establishments"
    ]
    herault = query(
        db,
        "SELECT count(*) AS n FROM sirene_establishments AS e JOIN territories AS t "
        "ON t.level = 'commune' AND t.code = e.commune_code WHERE t.departement_code = '34'",
    ).n[0]
    assert (figures["annee"], establishments["valeur"]) == (2021, herault) and herault > 3
