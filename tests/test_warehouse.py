"""The analysts' Python API: one import opens the warehouse read-only and gives DataFrames."""

import pytest

from observatory import open_warehouse
from observatory.warehouse import WarehouseMissingError

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
