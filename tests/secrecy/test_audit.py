"""The secrecy audit of the published site finds nothing on a real render, and finds every kind
of leak planted in a copy of it: a masked value in a table, a chart or a map, or a masked cell
left alone so that subtraction from its total recovers it."""

from __future__ import annotations

import csv
import html
import io
import re
import shutil
import warnings

import pandas as pd
import pytest
from real_sources import CRESS_SECRET, cress_file, sirene_files, warehouse_with

from observatory import exports, indicators, open_warehouse, secrecy
from observatory.publish import note as note_module
from observatory.publish import portrait, site
from observatory.secrecy import audit


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


def masked_cells(site_dir, indicator="family_employees", code="48") -> pd.DataFrame:
    table = portrait.read_table(site_dir / "departement" / f"{code}.csv", text=True)
    return table[(table["indicateur"] == indicator) & (table["secret"] == "True")]


def read(site_dir, code="48") -> tuple:
    """(path, context lines, table) of a portrait's CSV, its cells as the file's text, under
    the file's headings: what a careless hand would edit."""
    path = site_dir / "departement" / f"{code}.csv"
    context, table = exports.read_csv(path, raw=True)
    return path, context, table


def save(path, context: list[str], table: pd.DataFrame) -> None:
    """Write an edited portrait CSV back in the site's convention (BOM, « ; », CRLF)."""
    out = io.StringIO()
    out.writelines(f"# {line}\r\n" for line in context)
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerows(
        [list(table.columns), *table.itertuples(index=False)]
    )
    path.write_bytes(("\ufeff" + out.getvalue()).encode("utf-8"))


VALUE, SECRET = portrait.HEADINGS["valeur"], portrait.HEADINGS["secret"]


def test_a_real_render_has_no_leak(rendered, warehouse_path):
    findings = audit.audit_site(warehouse_path, rendered, portrait.read_published(rendered))
    assert findings.problems == []
    assert findings.checked >= 10  # Lozère has masked families and sectors


def test_a_masked_value_written_in_the_table_is_found(copy, warehouse_path):
    path, context, table = read(copy)
    row = masked_cells(copy).index[0]
    table.loc[row, VALUE] = "123"
    save(path, context, table)
    problems = audit.audit_site(warehouse_path, copy, portrait.read_published(copy)).problems
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
    problems = audit.audit_site(warehouse_path, copy, portrait.read_published(copy)).problems
    assert any(label in p and "visible dans la page" in p for p in problems), (
        label,
        value,
        problems,
    )


@pytest.mark.parametrize(
    "indicator", ["family_employees", "size_establishments", "domain_employees"]
)
def test_a_lone_masked_cell_recovered_by_subtraction_is_found(copy, warehouse_path, indicator):
    path, context, table = read(copy)
    masked = masked_cells(copy, indicator)
    assert len(masked) >= 2
    truth = true_values(warehouse_path)
    # Publish every masked family (or size class) but one, as a careless export would.
    for index, row in masked.iloc[1:].iterrows():
        value = truth[(truth["indicator"] == indicator) & (truth["category"] == row["categorie"])][
            "value"
        ].iloc[0]
        table.loc[index, [VALUE, SECRET]] = [str(value).replace(".", ","), "non"]
    save(path, context, table)
    lone = masked.iloc[0]["categorie"]
    problems = audit.audit_site(warehouse_path, copy, portrait.read_published(copy)).problems
    assert any(f"{indicator} {lone}" in p and "retrouvable par soustraction" in p for p in problems)


def test_a_published_count_of_two_establishments_is_found(copy, warehouse_path):
    path, context, table = read(copy)
    cells = portrait.read_table(path, text=True)
    row = cells[
        (cells["indicateur"] == "sector_establishments")
        & (cells["secret"] == "False")
        & (cells["valeur"] != "")
    ].index[0]
    table.loc[row, VALUE] = "2,0"
    save(path, context, table)
    problems = audit.audit_site(warehouse_path, copy, portrait.read_published(copy)).problems
    assert any("2.0 établissement(s) publié (moins de 3)" in p for p in problems)


def test_a_masked_value_drawn_in_the_printable_note_is_found(copy, warehouse_path):
    family = masked_cells(copy).iloc[0]
    truth = true_values(warehouse_path)
    value = truth[
        (truth["indicator"] == "family_employees") & (truth["category"] == family["categorie"])
    ]["value"].iloc[0]
    note = copy / "departement" / "48-note.html"
    label = family["libelle_categorie"]
    note.write_text(
        note.read_text(encoding="utf-8").replace(
            "</body>",
            f'<script>Plotly.newPlot("leak", [{{"type": "bar", "y": ["{label}"], '
            f'"x": [{value}]}}], {{}})</script></body>',
        ),
        encoding="utf-8",
    )
    problems = audit.audit_site(warehouse_path, copy, portrait.read_published(copy)).problems
    assert any(p.startswith("departement/48-note.html : ") and label in p for p in problems), (
        problems
    )


def test_a_masked_value_printed_in_the_pdf_is_found(copy, warehouse_path, tmp_path):
    """A PDF that says more than its page: the masked family's row printed with its true
    figures, from a copy of the note's page (the published page itself stays clean)."""
    family = masked_cells(copy).iloc[0]
    label = family["libelle_categorie"]
    truth = true_values(warehouse_path).set_index(["indicator", "category"])
    shown = [
        truth.at[(indicator, family["categorie"]), "display"]
        for indicator in ("family_establishments", "family_employees", "family_share_employees")
    ]
    note = copy / "departement" / "48-note.html"
    page = note.read_text(encoding="utf-8")
    head = f"<tr><th scope='row'>{html.escape(label)}</th>"
    rows = re.findall(re.escape(head) + r"(?:<td[^>]*>s</td>){3}</tr>", page)
    assert len(rows) == 1
    leaked = tmp_path / "departement" / "48-note.html"
    leaked.parent.mkdir()
    leaked.write_text(
        page.replace(rows[0], head + "".join(f"<td>{v}</td>" for v in shown) + "</tr>"),
        encoding="utf-8",
    )
    shutil.copytree(copy / "assets", tmp_path / "assets")
    with note_module.Printer() as printer:
        printer.print(leaked, copy / "departement" / "48.pdf")
    problems = audit.audit_site(warehouse_path, copy, portrait.read_published(copy)).problems
    assert [p for p in problems if not p.startswith("departement/48.pdf : ")] == []
    assert any(label in p and "visible dans la page" in p for p in problems), problems


def test_a_real_render_publishes_a_note_and_its_pdf(rendered):
    from pypdf import PdfReader

    pdf = PdfReader(rendered / "departement" / "48.pdf")
    assert 4 <= len(pdf.pages) <= 8
    assert (rendered / "departement" / "48-note.html").is_file()


# The CRESS's figures in the block « Les chiffres publiés », beside SIRENE estimates.


@pytest.fixture(scope="module")
def cress_site(empty_warehouse_path, tmp_path_factory):
    """Hérault's portrait rendered by the site renderer from SIRENE and a CRESS's raw counts
    (mutuelles: 2 establishments): (warehouse, site)."""
    folder = tmp_path_factory.mktemp("cress-audit")
    db = warehouse_with(
        empty_warehouse_path, folder, [*sirene_files(folder), cress_file(folder, CRESS_SECRET)]
    )
    out = folder / "site"
    site.render_site(db, out, [site.Page("departement", "34", "Hérault")], workers=1)
    return db, out


@pytest.fixture
def cress_copy(cress_site, tmp_path):
    db, rendered = cress_site
    target = tmp_path / "site"
    shutil.copytree(rendered, target)
    return db, target


def cress_rows(site_dir) -> tuple:
    """(path, context, table as in the file, the cells as text under their keys), and the
    CRESS's establishments by category."""
    path, context, table = read(site_dir, "34")
    keys = portrait.read_table(path, text=True)
    cells = keys[keys["indicateur"] == "cress_establishments"].set_index("categorie")
    return path, context, table, keys, cells


def test_the_published_block_is_rendered_and_audited_without_leak(cress_site):
    db, out = cress_site
    page = (out / "departement" / "34.html").read_text(encoding="utf-8")
    assert "Les chiffres publiés" in page and "CRESS, chiffres de la CRESS, 2023" in page
    *_, cells = cress_rows(out)
    assert cells.loc["MUT", "valeur"] == "s" and cells.loc["COOP", "valeur"] == "s"
    findings = audit.audit_site(db, out, portrait.read_published(out))
    assert findings.problems == []
    assert findings.checked >= 6  # the CRESS's masked cells are among those checked


def test_a_cress_cell_unmasked_beside_its_total_is_found(cress_copy):
    db, copy = cress_copy
    path, context, table, keys, _ = cress_rows(copy)
    coop = keys[(keys["indicateur"] == "cress_establishments") & (keys["categorie"] == "COOP")]
    table.loc[coop.index, [VALUE, SECRET]] = ["8", "non"]  # as a careless export would
    save(path, context, table)
    problems = audit.audit_site(db, copy, portrait.read_published(copy)).problems
    assert any(
        "cress_establishments MUT (2023) masqué mais retrouvable par soustraction" in p
        for p in problems
    ), problems


def test_a_cress_count_of_two_establishments_published_is_found(cress_copy):
    db, copy = cress_copy
    path, context, table, keys, _ = cress_rows(copy)
    true = {
        "cress_establishments": "2",
        "cress_employees": "20",
        "cress_ess_share_employees": "0,1",
    }
    for indicator, value in true.items():
        row = keys[(keys["categorie"] == "MUT") & (keys["indicateur"] == indicator)].index
        table.loc[row, [VALUE, SECRET]] = [value, "non"]
    save(path, context, table)
    problems = audit.audit_site(db, copy, portrait.read_published(copy)).problems
    assert any("cress_establishments MUT = 2 établissement(s) publié" in p for p in problems), (
        problems
    )
    assert any(
        "cress_employees MUT (2023) publié « 20 » pour une cellule de moins de 3" in p
        for p in problems
    )
