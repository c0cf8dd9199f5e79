"""The analysts' Python API: one import opens the warehouse read-only and gives DataFrames."""

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from observatory import open_warehouse
from observatory.warehouse import (
    ExternalAccessWarning,
    WarehouseAccessError,
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
    with pytest.raises(ValueError, match="unknown level"):
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
