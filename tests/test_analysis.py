"""The notebooks' helpers (observatory.analysis): comparisons, exports and maps as an analyst
meets them in JupyterLab (issue 24, items 1, 2 and 6)."""

import openpyxl
import pytest

from observatory import analysis, api, exports, indicators


def test_compare_gives_the_average_growth_and_takes_lists(wh):
    """The growth column was always NaN, and a list of codes raised AttributeError."""
    table = analysis.compare(wh, ["34", 31, "region:76"], 2022, display=False)
    growth = table["Croissance annuelle moyenne des postes"]
    for label, code, level in (
        ("Hérault (département 34)", "34", "departement"),
        ("Haute-Garonne (département 31)", "31", "departement"),
        ("Occitanie (région 76)", "76", "region"),
    ):
        truth = indicators.indicator(wh, "employees_average_growth", level, code, 2022)
        assert growth[label] == pytest.approx(truth["value"].item())
    shown = analysis.compare(wh, "34,31", 2022)
    assert shown.iloc[0, -1].endswith("\u202f%")


def test_compare_chart_gives_room_to_its_labels(wh):
    fig = analysis.compare_chart(wh, "region:76,region:84,FR", 2022)
    assert fig.layout.yaxis.automargin is True


def test_export_writes_numbers_and_s_not_blanks(wh, tmp_path):
    """Masked cells came out blank with display=False, numbers as text ('4\u202f333')."""
    table = analysis.compare(wh, "48001,48", 2022, display=False)
    path = analysis.export(table, tmp_path / "comparaison.csv")
    _, read = exports.read_csv(path)  # the observatory's one CSV convention
    commune = read.iloc[0]
    assert commune["Postes salariés de l'ESS"] == "s"
    lozere = indicators.indicator(wh, "ess_employees", "departement", "48", 2022)
    assert read.iloc[1]["Postes salariés de l'ESS"] == int(lozere["value"].item())
    xlsx = analysis.export(analysis.compare(wh, "48001,48", 2022), tmp_path / "c.xlsx")
    rows = list(openpyxl.load_workbook(xlsx)["Données"].iter_rows(values_only=True))
    body = [row for row in rows if row[0] and str(row[0]).startswith(("Albaret", "Lozère"))]
    assert body[0][1] == "s" and body[1][1] == int(lozere["value"].item())


def test_export_refuses_a_raw_view(wh, tmp_path):
    """Notebook 01 exported wh.key_figures, which skips secrecy."""
    raw = wh.key_figures("commune", "48001", 2022)
    with pytest.raises(api.RawTableError, match=r"observatory\.table"):
        analysis.export(raw, tmp_path / "brut.csv")


def test_region_map_by_commune_uses_the_given_warehouse(wh, monkeypatch):
    """region_map(level="commune") raised KeyError, and every map read the kernel's default
    warehouse instead of the one given."""
    monkeypatch.setenv("OBSERVATORY_DB", "/nonexistent/observatory.duckdb")
    fig = analysis.region_map(wh, 76, 2022, level="commune")
    drawn = sum(len(t.locations if t.type == "choroplethmap" else t.lon) for t in fig.data)
    assert drawn == len(wh.territories("commune", region="76"))
    assert fig.layout.title.text.endswith("Occitanie, 2022")
