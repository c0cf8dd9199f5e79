"""Every file handed out carries its context (title, territory, year, source, definitions, the
demonstration label), French headings and French numbers, in one CSV convention; read back as a
spreadsheet user would (openpyxl, the CSV's text) and checked against the warehouse's facts."""

from __future__ import annotations

import base64
import re

import pandas as pd
import pytest
from openpyxl import load_workbook

from observatory import analysis, exports, indicators, settings
from observatory.dashboards import common
from observatory.publish import portrait
from observatory.views import blocks, maps, territory_view

CODE_NAME = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")  # part_emploi_ess_pct and the like


pytestmark = pytest.mark.usefixtures("demo_db")  # the dashboards' warehouse (conftest)


def families_of(wh, column: str, code: str, year: int) -> pd.Series:
    """ESS employees by family label, summed from the facts."""
    return wh.sql(
        f"SELECT fa.label, sum(f.employees) AS e FROM ess_facts f "
        "JOIN territories t ON t.level = 'commune' AND t.code = f.commune_code "
        "JOIN families fa ON fa.family_code = f.family_code "
        f"WHERE t.{column} = $code AND f.year = $y GROUP BY ALL",
        dict(code=code, y=year),
    ).set_index("label")["e"]


def block_files(block: blocks.Block) -> tuple[str, bytes]:
    """The CSV text and the XLSX bytes the block's links download."""
    html = blocks.block_outputs(block, "essai")[-1]["data"]["text/html"]
    csv_uri, xlsx_uri = re.findall(r'href="data:[^;]+;(?:charset=utf-8;)?base64,([^"]+)"', html)
    return base64.b64decode(csv_uri).decode("utf-8"), base64.b64decode(xlsx_uri)


def test_a_block_csv_says_what_it_is_in_french_with_french_numbers(demo_db):
    herault = indicators.resolve(demo_db, "34")
    block = territory_view.territory_view(demo_db, herault, 2022).blocks[0]  # families
    text, _ = block_files(block)
    assert text.startswith("\ufeff# Avertissement : Données de démonstration")
    assert "à ne pas citer" in text.splitlines()[0]
    lines = text.removeprefix("\ufeff").split("\r\n")
    context = [line for line in lines if line.startswith("#")]
    assert "# Titre : Les familles de l'ESS" in context
    assert "# Territoire : Hérault (département 34)" in context
    assert "# Année : 2022" in context
    assert any(line.startswith("# Source : Données de démonstration") for line in context)
    assert any("Postes salariés au 31 décembre par famille" in line for line in context)
    header = lines[len(context)].split(";")
    assert header == [
        "Famille",
        "Établissements employeurs",
        "Postes salariés",
        "Part dans l'emploi de l'ESS (%)",
    ]
    assert not [h for h in header if CODE_NAME.match(h)]
    expected = families_of(demo_db, "departement_code", "34", 2022)
    rows = {r.split(";")[0]: r.split(";") for r in lines[len(context) + 1 :] if r}
    for label, employees in expected.items():
        _, _, posts, share = rows[label]
        assert posts == str(int(employees))  # no thousands separator: a number to a spreadsheet
        assert share == f"{100 * employees / expected.sum():.1f}".replace(".", ",")
    _, frame = exports.read_csv(text.encode())
    assert frame["Postes salariés"].sum() == expected.sum()


def test_a_block_xlsx_has_its_context_numbers_formats_and_definitions(demo_db):
    adissan = indicators.resolve(demo_db, "34002", "commune")  # 2 establishments: masked
    # On screen the block says it has nothing to show; its file, made all the same, says « s ».
    block = blocks.families(
        common.compute("commune", "34002", 2022, territory_view.THEMES), adissan
    )
    block.place, block.year, block.demo = adissan.label, 2022, True
    data = exports.to_xlsx(blocks.export_table(block))
    path = demo_db.path.parent / "adissan.xlsx"
    path.write_bytes(data)
    book = load_workbook(path)
    sheet = book["Données"]
    rows = [tuple(c.value for c in row) for row in sheet.iter_rows()]
    assert rows[0][0] == "Avertissement" and rows[0][1].startswith(settings.DEMO_LABEL)
    assert rows[0][1].endswith("à ne pas citer ni diffuser comme des chiffres réels.")
    context = dict(r[:2] for r in rows[: rows.index((None,) * len(rows[0]))])
    assert context["Titre"] == "Les familles de l'ESS"
    assert context["Territoire"] == "Adissan (commune 34002)"
    assert context["Année"] == "2022"
    header = rows.index(
        (
            "Famille",
            "Établissements employeurs",
            "Postes salariés",
            "Part dans l'emploi de l'ESS (%)",
        )
    )
    secret = indicators.compute(demo_db, "commune", "34002", 2022, themes=["families"])
    masked = set(
        secret.loc[(secret["indicator"] == "family_employees") & secret["secret"], "category_label"]
    )
    assert masked
    for row in sheet.iter_rows(min_row=header + 2):
        family, _, posts, share = row
        if family.value in masked:
            assert posts.value == "s" and share.value == "s"
        elif isinstance(share.value, float):
            assert share.number_format == '#,##0.0" %"'
        if isinstance(posts.value, int):
            assert posts.number_format == "#,##0"
    definitions = pd.DataFrame(book["Définitions"].values)
    assert "Postes salariés" in set(definitions[0])
    assert "« s » : valeur couverte par le secret statistique." in " ".join(definitions[1].dropna())


def test_every_download_column_has_a_french_heading(demo_db):
    occitanie = indicators.resolve(demo_db, "76", "region")
    view = territory_view.territory_view(demo_db, occitanie, 2022)
    made = [*view.blocks, maps.map_block(demo_db, occitanie, "epci", 2022)]
    for block in made:
        headings = blocks.export_table(block).headings()
        assert not [h for h in headings if CODE_NAME.match(h)], (block.slug, headings)


def test_every_file_uses_one_csv_convention(demo_db, tmp_path):
    frame = portrait.portrait(demo_db, "48")
    portrait.write(frame, tmp_path / "lozere.csv")
    analysis.export(analysis.compare(demo_db, "48,34"), tmp_path / "compare.csv", wh=demo_db)
    for path in (tmp_path / "lozere.csv", tmp_path / "compare.csv"):
        raw = path.read_bytes()
        assert raw.startswith("\ufeff".encode())
        lines = raw.decode("utf-8-sig").split("\r\n")
        assert lines[0] == "# Avertissement : " + exports.DEMO_LINE
        table = next(line for line in lines if not line.startswith("#"))
        assert ";" in table and "," not in table.replace("d'", "")  # « ; » between fields
    lozere = portrait.read_table(tmp_path / "lozere.csv")
    share = lozere[(lozere["indicateur"] == "ess_share_employees") & lozere["categorie"].isna()]
    text = (tmp_path / "lozere.csv").read_text(encoding="utf-8-sig")
    assert f";{share['valeur'].iloc[0]:.2f}".replace(".", ",").rstrip("0") in text


def test_a_portrait_file_reads_back_whole_with_masked_cells_as_s(demo_db, tmp_path):
    frame = portrait.portrait(demo_db, "34002")
    for name in ("adissan.csv", "adissan.xlsx"):
        portrait.write(frame, tmp_path / name)
        back = portrait.read_table(tmp_path / name)
        assert len(back) == len(frame)
        assert (back.loc[back["secret"], "valeur"] == "s").all()
        assert back.loc[back["secret"], "valeur"].size == int(frame["secret"].sum())
        shown = frame[~frame["secret"] & frame["value"].notna()]
        values = back.loc[~back["secret"] & back["valeur"].notna(), "valeur"].astype(float)
        assert values.to_numpy() == pytest.approx(shown["value"].round(2).to_numpy())


def test_a_chart_carries_its_source_or_the_demo_label_under_its_title(demo_db):
    herault = indicators.resolve(demo_db, "34")
    block = territory_view.territory_view(demo_db, herault, 2022).blocks[1]  # sectors
    title = block.figure.layout.title.text
    lines = title.split("<br>")
    assert all(len(re.sub(r"<[^>]+>", "", line)) <= exports.SUBTITLE_WIDTH for line in lines)
    assert "Données de démonstration, à ne pas citer" in re.sub(r"<[^>]+>", "", title)
    assert block.figure.layout.margin.t >= 24 + 16 * len(lines)
