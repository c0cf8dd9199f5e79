"""The secrecy audit of the published site finds nothing on a real render, and finds every kind
of leak planted in a copy of it: a masked value in a table, a chart or a map, or a masked cell
left alone so that subtraction from its total recovers it."""

from __future__ import annotations

import shutil
import warnings

import pandas as pd
import pytest

from observatory import audit, indicators, open_warehouse, secrecy, site


@pytest.fixture(scope="module")
def rendered(warehouse_path, tmp_path_factory):
    """The portrait of Lozère rendered by the site renderer (a real kernel) from the demo."""
    out = tmp_path_factory.mktemp("site")
    report = site.render_site(
        warehouse_path, out, [site.Page("departement", "48", "Lozère")], workers=1
    )
    assert [r.page.code for r in report.pages] == ["48"]
    return out


@pytest.fixture
def copy(rendered, tmp_path):
    target = tmp_path / "site"
    shutil.copytree(rendered, target)
    return target


def true_values(warehouse_path) -> pd.DataFrame:
    with open_warehouse(warehouse_path) as wh, warnings.catch_warnings():
        warnings.simplefilter("ignore", secrecy.SecrecyWarning)
        return indicators.compute(wh, "departement", "48", None, secrecy=False)


def masked_cells(site_dir, indicator="family_employees") -> pd.DataFrame:
    table = pd.read_csv(site_dir / "departement" / "48.csv", dtype=str, keep_default_na=False)
    return table[(table["indicateur"] == indicator) & (table["secret"] == "True")]


def test_a_real_render_has_no_leak(rendered, warehouse_path):
    findings = audit.audit_site(warehouse_path, rendered)
    assert findings.problems == []
    assert findings.checked >= 10  # Lozère has masked families and sectors


def test_a_masked_value_written_in_the_table_is_found(copy, warehouse_path):
    path = copy / "departement" / "48.csv"
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    row = masked_cells(copy).index[0]
    table.loc[row, "valeur"] = "123"
    table.to_csv(path, index=False)
    problems = audit.audit_site(warehouse_path, copy).problems
    assert any(
        "family_employees" in p and "marqué secret mais publié « 123 »" in p for p in problems
    )


def test_a_masked_value_drawn_in_a_chart_or_a_table_row_is_found(copy, warehouse_path):
    family = masked_cells(copy).iloc[0]
    truth = true_values(warehouse_path)
    value = truth[
        (truth["indicator"] == "family_employees") & (truth["category"] == family["categorie"])
    ]["value"].iloc[0]
    page = copy / "departement" / "48.html"
    label = family["libelle_categorie"]
    page.write_text(
        page.read_text(encoding="utf-8").replace(
            "</main>",
            f'<script>Plotly.newPlot("leak", [{{"type": "bar", "y": ["{label}"], '
            f'"x": [{value}]}}], {{}})</script></main>',
        ),
        encoding="utf-8",
    )
    problems = audit.audit_site(warehouse_path, copy).problems
    assert any(label in p and "visible dans la page" in p for p in problems), (
        label,
        value,
        problems,
    )


@pytest.mark.parametrize("indicator", ["family_employees", "size_establishments"])
def test_a_lone_masked_cell_recovered_by_subtraction_is_found(copy, warehouse_path, indicator):
    path = copy / "departement" / "48.csv"
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    masked = masked_cells(copy, indicator)
    assert len(masked) >= 2
    truth = true_values(warehouse_path)
    # Publish every masked family (or size class) but one, as a careless export would.
    for index, row in masked.iloc[1:].iterrows():
        value = truth[(truth["indicator"] == indicator) & (truth["category"] == row["categorie"])][
            "value"
        ].iloc[0]
        table.loc[index, ["valeur", "secret"]] = [str(value), "False"]
    table.to_csv(path, index=False)
    lone = masked.iloc[0]["categorie"]
    problems = audit.audit_site(warehouse_path, copy).problems
    assert any(f"{indicator} {lone}" in p and "retrouvable par soustraction" in p for p in problems)


def test_a_published_count_of_two_establishments_is_found(copy, warehouse_path):
    path = copy / "departement" / "48.csv"
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    row = table[
        (table["indicateur"] == "sector_establishments")
        & (table["secret"] == "False")
        & (table["valeur"] != "")
    ].index[0]
    table.loc[row, "valeur"] = "2.0"
    table.to_csv(path, index=False)
    problems = audit.audit_site(warehouse_path, copy).problems
    assert any("2.0 établissement(s) publié (moins de 3)" in p for p in problems)
