"""Every recipe of docs/cookbook.md runs on the demo warehouse, in order, as an analyst would
paste it into JupyterLab."""

import re
import warnings

from conftest import ROOT

COOKBOOK = ROOT / "docs" / "cookbook.md"
RECIPES = re.findall(r"```python\n(.*?)```", COOKBOOK.read_text(encoding="utf-8"), re.S)


def test_the_cookbook_has_ten_recipes():
    assert len(RECIPES) == 10


def test_the_recipes_run_in_order(warehouse_path, tmp_path, monkeypatch, capsys):
    """One namespace for all ten (they build on each other, as in a notebook), in one test so
    that test workers never split them; files are written in a folder of the test."""
    monkeypatch.setenv("OBSERVATORY_DB", str(warehouse_path))
    monkeypatch.chdir(tmp_path)
    session = {}
    for number, recipe in enumerate(RECIPES, start=1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # recipe 10 is warned, on purpose
            exec(compile(recipe, f"recette {number}", "exec"), session)
        printed = capsys.readouterr().out
        if number == 5:
            assert "Seine-Maritime" in printed and "Occitanie" in printed
        if number == 10:
            assert "sans secret statistique" in printed
    assert (session["departements"]["code"] == "48").any()
    assert {"departements.xlsx", "comparaison.csv", "brut-interne.csv"} <= {
        p.name for p in tmp_path.iterdir()
    }
    assert not (tmp_path / "brut.csv").exists()
