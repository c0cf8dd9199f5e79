"""The analysts' Python API: one import opens the warehouse read-only and gives DataFrames."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from observatory import open_warehouse
from observatory.ingest import ingest
from observatory.warehouse import (
    HEADER_BYTES,
    ExternalAccessWarning,
    WarehouseAccessError,
    WarehouseCorruptError,
    WarehouseInUseError,
    WarehouseMissingError,
)

OCCITANIE = {"09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82"}


def test_territories_by_level_and_parent(wh):
    assert set(wh.territories("departement", region="76")["code"]) == OCCITANIE
    assert len(wh.territories("region")) == 18
    herault_communes = wh.territories("commune", departement="34")
    assert "34172" in set(herault_communes["code"])  # Montpellier
    assert (herault_communes["region_code"] == "76").all()
    with pytest.raises(ValueError, match="niveau « canton » inconnu"):
        wh.territories("canton")


def test_key_figures_filters(wh):
    rows = wh.key_figures("departement", year=2018, region="76")
    assert set(rows["code"]) == OCCITANIE and (rows["year"] == 2018).all()
    lozere = wh.key_figures("departement", "48")
    assert list(lozere["year"]) == wh.years()


def test_sql_with_parameters_returns_dataframes(wh):
    frame = wh.sql(
        "SELECT name FROM territories WHERE level = ? AND code = ?", ["departement", "2A"]
    )
    assert frame["name"].tolist() == ["Corse-du-Sud"]


def test_demo_data_is_flagged(wh):
    assert wh.is_demo()


def test_default_path_comes_from_the_environment(warehouse_path, monkeypatch):
    monkeypatch.setenv("OBSERVATORY_DB", str(warehouse_path))
    with open_warehouse() as wh:
        assert wh.path == warehouse_path
        assert len(wh.territories("region")) == 18


def test_missing_warehouse(tmp_path):
    with pytest.raises(WarehouseMissingError, match="observatory build"):
        open_warehouse(tmp_path / "absent.duckdb")


def blocks_of(path) -> tuple[int, int]:
    """(blocks the file holds, blocks DuckDB counts in it, free ones included)."""
    with duckdb.connect(str(path), read_only=True) as con:
        total, size = con.execute(
            "SELECT total_blocks, block_size FROM pragma_database_size()"
        ).fetchall()[0]
    return (path.stat().st_size - HEADER_BYTES) // size, total


def read_whole(path) -> int:
    """Every row of every table, read by DuckDB itself; the number of tables."""
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [
            name for (name,) in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        ]
        for name in tables:
            con.execute(f'SELECT * FROM "{name}"').fetchall()
    return len(tables)


@pytest.fixture(scope="module")
def loaded_warehouses(empty_warehouse_path, tmp_path_factory, real_data):
    """Copies of a warehouse for real files after each of several loads into it (a file loaded
    twice, SIRENE extracts one after another), as DuckDB wrote them."""
    folder = tmp_path_factory.mktemp("loads")
    db = folder / "observatory.duckdb"
    shutil.copy(empty_warehouse_path, db)
    itdd = real_data / "insee" / "ITDD-DonneesDetaillees.xls"
    sirene = real_data / "sirene"
    loads = [
        [itdd],
        [itdd],  # already loaded: skipped, the marts recomputed all the same
        [sirene / "StockUniteLegale_ess_numerique_extract.csv"],
        [sirene / "StockUniteLegale_v3_2019_sample.csv"],
        [sirene / "StockEtablissement_extract_2021-11_part1.csv"],
    ]
    copies = []
    for number, paths in enumerate(loads):
        ingest(paths, vintage=2021, db_path=db)
        copies.append(folder / f"after-{number}.duckdb")
        shutil.copy(db, copies[-1])
    return copies


def test_warehouses_written_by_many_loads_open_whole(loaded_warehouses):
    """DuckDB trims free blocks from the end of its file: after a load, the file may hold fewer
    blocks than DuckDB counts, and the warehouse is whole all the same (every table reads)."""
    trimmed = [path for path in loaded_warehouses if blocks_of(path)[0] < blocks_of(path)[1]]
    assert trimmed, "no load left a trimmed file: the case this test is about did not arise"
    for path in loaded_warehouses:
        assert read_whole(path) > 20
        with open_warehouse(path) as wh:
            assert len(wh.sources()) > 5


@pytest.mark.parametrize("cut", ["un octet", "un bloc", "la moitié"])
def test_a_truncated_warehouse_is_refused_as_damaged(loaded_warehouses, tmp_path, cut):
    """The same files, truncated: DuckDB cannot read them whole, and opening says so."""
    for number, source in enumerate(loaded_warehouses):
        path = tmp_path / f"{number}.duckdb"
        shutil.copy(source, path)
        size = path.stat().st_size
        keep = {"un octet": size - 1, "un bloc": size - 262_144, "la moitié": size // 2}[cut]
        with path.open("r+b") as handle:
            handle.truncate(keep)
        with pytest.raises(duckdb.Error, match=r"Could not read enough bytes|Corrupt"):
            read_whole(path)
        with pytest.raises(WarehouseCorruptError, match="endommagé ou illisible"):
            open_warehouse(path)


def small_warehouse(tmp_path) -> Path:
    path = tmp_path / "small.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
    return path


def test_an_analyst_opens_external_access_only_explicitly_and_is_warned(tmp_path):
    mine = tmp_path / "mine.csv"
    mine.write_text("a;b\n1;2\n", encoding="utf-8")
    path = small_warehouse(tmp_path)
    query = f"SELECT * FROM read_csv('{mine}', sep=';')"
    with open_warehouse(path) as wh, pytest.raises(WarehouseAccessError, match="refusé"):
        wh.sql(query)
    with pytest.warns(ExternalAccessWarning, match="réservé au travail de l'analyste"):
        analyst = open_warehouse(path, external_access=True)
    with analyst:
        assert analyst.sql(query).to_dict("records") == [{"a": 1, "b": 2}]
        # DuckDB shares one database per file in a process: not both settings at once
        with pytest.raises(WarehouseInUseError, match="déjà ouvert dans ce processus"):
            open_warehouse(path)


# What a visitor's kernel runs: the dashboards' own warehouse (common.warehouse), in a process of
# its own as a kernel is, tried with each escape through the API and the raw connection.
KERNEL = """
import json, sys
from observatory.dashboards import common
wh = common.warehouse()
refused = {}
for query in json.loads(sys.argv[1]):
    for name, run in (("sql", wh.sql), ("connection", wh.connection.execute)):
        try:
            run(query)
            refused[f"{name} {query}"] = None
        except Exception as exc:
            refused[f"{name} {query}"] = str(exc).splitlines()[0]
state = wh.sql("SELECT current_setting('threads') AS threads, "
               "current_setting('enable_external_access') AS external").iloc[0]
figures = wh.key_figures("region", "76")
print(json.dumps(dict(refused=refused, threads=int(state.threads),
                      external=bool(state.external), years=len(figures))))
"""


def test_a_dashboard_kernel_warehouse_reaches_no_file_network_extension_or_setting(
    warehouse_path, tmp_path
):
    out = tmp_path / "x.csv"
    escapes = {
        f"COPY (SELECT 1 AS x) TO '{out}'": f"accès à « {out} » refusé",
        "SELECT * FROM read_csv('/etc/passwd')": "accès à « /etc/passwd » refusé",
        "SELECT * FROM glob('/root/*')": "accès à « /root/* » refusé",
        "INSTALL httpfs": "installation ou chargement d'extension refusé",
        "SET enable_external_access = true": "réglage « enable_external_access » refusé",
    }
    done = subprocess.run(
        [sys.executable, "-c", KERNEL, json.dumps(list(escapes))],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "OBSERVATORY_DB": str(warehouse_path)},
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    for query, message in escapes.items():
        assert result["refused"][f"sql {query}"].startswith(message), query
        assert "open_warehouse(external_access=True)" in result["refused"][f"sql {query}"]
        assert result["refused"][f"connection {query}"] is not None, query
    assert not out.exists()
    assert result["external"] is False and result["threads"] == 1
    assert result["years"] > 0  # the dashboards still read their warehouse


def test_key_figures_checks_its_input_in_french(wh):
    """« département », a number, an unknown year and a bare « 76 » (issue 24, items 3, 4)."""
    accented = wh.key_figures("département", region=76, year=2022)
    assert set(accented["code"]) == OCCITANIE
    lozere = wh.key_figures("departement", 48)
    assert set(lozere["code"]) == {"48"} and list(lozere["year"]) == wh.years()
    with pytest.raises(ValueError, match=r"année « 2030 » non disponible .*2014 à 2022"):
        wh.key_figures("departement", year=2030)
    with pytest.raises(ValueError, match=r"Occitanie.*Seine-Maritime"):
        wh.key_figures(code="76")
    assert set(wh.key_figures(code="region:76")["level"]) == {"region"}


def test_raw_views_say_they_are_not_secrecy_checked(wh):
    """The easiest route showed a commune's single establishment (issue 24, item 1): the raw
    views say so in their docstring and their frame."""
    for frame in (wh.key_figures("commune", "48001", 2022), wh.sql("SELECT 1 AS x")):
        assert frame.attrs["secrecy"] is False
        assert "sans secret statistique" in frame.attrs["note"]
    for method in (type(wh).key_figures, type(wh).sql):
        assert "Not secrecy-checked" in method.__doc__


def test_key_figures_types(wh):
    frame = wh.key_figures("region", year=2022)
    assert frame["year"].dtype == "int64"
    assert str(frame["ess_establishments"].dtype) == "Int64"
    assert str(frame["ess_employees"].dtype) == "Int64"
