"""Analyst notebooks run top to bottom on the demo warehouse, with the project's kernel, and
show what they promise."""

import json

import pandas as pd
import papermill as pm
import pytest

from conftest import ROOT
from observatory import settings

NOTEBOOKS = sorted(settings.NOTEBOOKS_DIR.glob("*.ipynb"))
# Parameters given to each notebook and texts its outputs must hold.
EXPECTED = {
    "01-premiers-pas.ipynb": ({"region": "76"}, ["Hérault", "Lozère", "demo:ess_facts",
                                                 "Postes salariés de l'ESS"]),
    "02-portrait-territoire.ipynb": ({"territoire": "48"}, ["L'ESS : Lozère", "Associations",
                                                            "Données de démonstration"]),
    "03-comparaisons-regionales.ipynb": ({"territoires": "region:76,region:84,FR"},
                                         ["Occitanie", "Auvergne-Rhône-Alpes", "France",
                                          "Lozère"]),
    "04-qualite-des-donnees.ipynb": ({"region": "76"}, ["part_masquee_pct", "Hérault",
                                                        "territoires_avec_ess"]),
}


def test_every_notebook_has_expectations():
    assert {p.name for p in NOTEBOOKS} == set(EXPECTED)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom(path, warehouse_path, tmp_path, monkeypatch):
    monkeypatch.setenv("OBSERVATORY_DB", str(warehouse_path))
    parameters, texts = EXPECTED[path.name]
    if path.name.startswith("01"):
        parameters = {**parameters, "export_path": str(tmp_path / "departements.xlsx")}
    out = tmp_path / path.name
    pm.execute_notebook(str(path), str(out), kernel_name="observatory", cwd=str(ROOT),
                        parameters=parameters, progress_bar=False)
    outputs = [o for cell in json.loads(out.read_text())["cells"] for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o["output_type"] == "error"]
    text = json.dumps(outputs, ensure_ascii=False)
    for expected in texts:
        assert expected in text, expected
    if path.name.startswith("01"):  # the guided tour exported the départements' table
        table = pd.read_excel(parameters["export_path"], dtype={"code": str})
        assert len(table) == 13 and {"34", "48", "31"} <= set(table["code"])

