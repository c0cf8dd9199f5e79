"""Analyst notebooks run top to bottom on the demo warehouse, with the project's kernel."""

import json

import papermill as pm
import pytest

from conftest import ROOT
from observatory import settings

NOTEBOOKS = sorted(settings.NOTEBOOKS_DIR.glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom(path, warehouse_path, tmp_path, monkeypatch):
    monkeypatch.setenv("OBSERVATORY_DB", str(warehouse_path))
    out = tmp_path / path.name
    pm.execute_notebook(str(path), str(out), kernel_name="observatory", cwd=str(ROOT),
                        parameters={"region": "76"}, progress_bar=False)
    outputs = [o for cell in json.loads(out.read_text())["cells"] for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o["output_type"] == "error"]
    text = json.dumps(outputs, ensure_ascii=False)
    assert "Hérault" in text and "Lozère" in text  # the Occitanie départements table
