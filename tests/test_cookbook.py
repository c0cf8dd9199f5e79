"""Every recipe of docs/cookbook.md runs on the demo warehouse, in order, as an analyst would
paste it into JupyterLab."""

import re
import warnings

import pytest
from conftest import ROOT

COOKBOOK = ROOT / "docs" / "cookbook.md"
RECIPES = re.findall(r"```python\n(.*?)```", COOKBOOK.read_text(encoding="utf-8"), re.S)


def test_the_cookbook_has_ten_recipes():
    assert len(RECIPES) == 10


@pytest.fixture(scope="module")
def session(warehouse_path, tmp_path_factory):
    """One namespace for the recipes (they build on each other), files written in a folder."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OBSERVATORY_DB", str(warehouse_path))
        mp.chdir(tmp_path_factory.mktemp("recettes"))
        yield {}


@pytest.mark.parametrize("number", range(1, len(RECIPES) + 1))
def test_recipe_runs(number, session, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # recipe 10 is warned, on purpose
        exec(compile(RECIPES[number - 1], f"recette {number}", "exec"), session)
    if number == 5:
        assert "Seine-Maritime" in capsys.readouterr().out
    if number == 8:
        assert (session["departements"]["code"] == "48").any()
    if number == 10:
        assert "sans secret statistique" in capsys.readouterr().out
