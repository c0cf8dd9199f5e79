"""Analyst notebooks run top to bottom on the demo warehouse, with the project's kernel, and
show what they promise."""

import json
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import papermill as pm
import pytest
from conftest import ROOT

from observatory import settings

NOTEBOOKS = sorted(settings.NOTEBOOKS_DIR.glob("*.ipynb"))
# Parameters given to each notebook and texts its outputs must hold.
EXPECTED = {
    "01-premiers-pas.ipynb": (
        {"region": "76"},
        ["Hérault", "Lozère", "demo:ess_facts", "Postes salariés de l'ESS"],
    ),
    "02-portrait-territoire.ipynb": (
        {"territoire": "48"},
        ["L'ESS : Lozère", "Associations", "Données de démonstration"],
    ),
    "03-comparaisons-regionales.ipynb": (
        {"territoires": "region:76,region:84,FR"},
        ["Occitanie", "Auvergne-Rhône-Alpes", "France", "Lozère"],
    ),
    "04-qualite-des-donnees.ipynb": (
        {"region": "76"},
        ["part_masquee_pct", "Hérault", "territoires_avec_ess"],
    ),
}


def test_every_notebook_has_expectations():
    assert {p.name for p in NOTEBOOKS} == set(EXPECTED)


@pytest.fixture(scope="module")
def runs(warehouse_path, tmp_path_factory):
    """Every notebook started by papermill, two at a time (each runs in a kernel of its own, a
    process): name -> (future, parameters, output notebook)."""
    started = {}
    with pytest.MonkeyPatch.context() as mp, ThreadPoolExecutor(max_workers=2) as pool:
        mp.setenv("OBSERVATORY_DB", str(warehouse_path))  # read by the kernels papermill starts
        for path in NOTEBOOKS:
            folder = tmp_path_factory.mktemp(path.stem)
            parameters = EXPECTED[path.name][0]
            if path.name.startswith("01"):
                parameters = {**parameters, "export_path": str(folder / "departements.xlsx")}
            out = folder / path.name
            future = pool.submit(
                pm.execute_notebook,
                str(path),
                str(out),
                kernel_name="observatory",
                cwd=str(ROOT),
                parameters=parameters,
                progress_bar=False,
            )
            started[path.name] = future, parameters, out
        yield started


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom(path, runs):
    future, parameters, out = runs[path.name]
    future.result()  # papermill's error, if a cell failed
    texts = EXPECTED[path.name][1]
    outputs = [o for cell in json.loads(out.read_text())["cells"] for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o["output_type"] == "error"]
    text = json.dumps(outputs, ensure_ascii=False)
    for expected in texts:
        assert expected in text, expected
    if path.name.startswith("01"):  # the guided tour exported the départements' table
        sheet = pd.read_excel(parameters["export_path"], header=None, dtype=str)
        header = sheet.index[sheet.isna().all(axis=1)][0] + 1  # the table after its context
        table = pd.read_excel(parameters["export_path"], skiprows=header, dtype={"Code": str})
        assert len(table) == 13 and {"34", "48", "31"} <= set(table["Code"])
        assert table["Postes salariés de l'ESS"].map(type).eq(int).all()  # numbers, not text


@pytest.mark.parametrize("name", ["01-premiers-pas.ipynb", "03-comparaisons-regionales.ipynb"])
def test_notebook_exported_to_html_keeps_its_charts(name, runs):
    """nbconvert's HTML showed no plotly chart: the notebooks set plotly's renderer so that
    each chart is also an HTML output, with plotly.js embedded once (works offline)."""
    from nbconvert import HTMLExporter

    future, _, out = runs[name]
    future.result()
    html, _ = HTMLExporter().from_filename(str(out))
    assert "Plotly.newPlot" in html
    assert len(html) > 3_000_000  # plotly.js itself (about 4.6 MB) is in the page
