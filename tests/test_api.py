"""The analyst API (issue 24): observatory.table, observatory.map, observatory.to_excel, and
the package's names for tab completion."""

import warnings

import openpyxl
import pandas as pd
import pytest
import shapely

import observatory
from observatory import api, indicators, reference
from observatory.territories import TerritoryError

OCCITANIE = {"09", "11", "12", "30", "31", "32", "34", "46", "48", "65", "66", "81", "82"}


def test_dir_lists_the_api():
    """dir(observatory) was empty: no tab completion."""
    names = dir(observatory)
    assert {"open_warehouse", "table", "map", "to_excel", "indicators"} <= set(names)
    assert callable(observatory.table) and callable(observatory.to_excel)


@pytest.fixture(scope="module")
def lozere_communes(wh):
    return observatory.table(
        wh, ["ess_establishments", "ess_employees", "ess_share_employees"], "commune", 48, 2022
    )


def test_table_applies_secrecy_cell_by_cell(wh, lozere_communes):
    """Each cell agrees with indicators.compute, masked cells are <NA> with their flag set."""
    frame = lozere_communes.set_index("code")
    assert len(frame) == len(wh.territories("commune", departement="48"))
    masked = 0
    for code in ["48001", "48095", "48034", *frame.index[:20]]:
        truth = indicators.compute(wh, "commune", code, 2022, themes=("key_figures",))
        truth = truth.set_index("indicator")
        for column in ("ess_establishments", "ess_employees", "ess_share_employees"):
            secret = bool(truth.at[column, "secret"])
            assert frame.at[code, f"{column}_secret"] == secret
            if secret:
                masked += 1
                assert pd.isna(frame.at[code, column])
            elif not pd.isna(truth.at[column, "value"]):
                assert frame.at[code, column] == pytest.approx(truth.at[column, "value"])
    assert masked  # Lozère's small communes are masked
    assert frame.attrs["secrecy"] is True and frame.attrs["demo"] is True


def test_table_types_and_shape(wh, lozere_communes):
    assert str(lozere_communes["ess_employees"].dtype) == "Int64"
    assert str(lozere_communes["ess_establishments"].dtype) == "Int64"
    assert str(lozere_communes["ess_share_employees"].dtype) == "Float64"
    assert lozere_communes["year"].dtype == "int64"
    several = observatory.table(
        wh, ["ess_employees", "family_employees"], "département", "region:76", [2018, 2022]
    )
    assert set(several["code"]) == OCCITANIE and set(several["year"]) == {2018, 2022}
    family = [
        c
        for c in several.columns
        if c.startswith("family_employees:") and not c.endswith("_secret")
    ]
    assert family == [f"family_employees:{code}" for code in api.FAMILY_DTYPE.categories]
    assert len(several) == 26


def test_table_never_answers_an_empty_frame(wh):
    with pytest.raises(indicators.YearError, match="année 2030 non disponible"):
        observatory.table(wh, "ess_employees", "departement", "region:76", 2030)
    with pytest.raises(KeyError, match="vouliez-vous dire : ess_employees"):
        observatory.table(wh, "ess_employes", "departement", "region:76")
    with pytest.raises(TerritoryError, match="aucun territoire de niveau département"):
        observatory.table(wh, "ess_employees", "departement", "commune:48001")
    with pytest.raises(TerritoryError, match="Seine-Maritime"):
        observatory.table(wh, "ess_employees", "departement", "76")


def test_map_gives_a_geodataframe_and_a_figure(wh):
    import matplotlib

    matplotlib.use("Agg")
    drawn = observatory.map(wh, "ess_share_employees", "departement", "region:76", 2022)
    assert set(drawn.data["code"]) == OCCITANIE and drawn.data.geometry.notna().all()
    assert drawn.data.crs.to_epsg() == 4326
    shares = drawn.data.set_index("code")["ess_share_employees"]
    assert shares["48"] == pytest.approx(
        observatory.table(wh, "ess_share_employees", "departement", 48, 2022)[
            "ess_share_employees"
        ].item()
    )
    drawn.data.plot(column=drawn.data["ess_share_employees"].astype(float))  # matplotlib
    names = [trace.name for trace in drawn.figure.data]
    assert all(trace.type == "choroplethmap" for trace in drawn.figure.data)
    assert sum(len(trace.locations) for trace in drawn.figure.data) == 13 and names
    communes = observatory.map(wh, "ess_share_employees", "commune", 48, 2022)
    grey = [t for t in communes.figure.data if t.name.startswith("s ")]
    masked = communes.data["ess_share_employees_secret"].sum()
    assert grey and len(grey[0].locations) == masked
    assert {c[1] for c in grey[0].customdata} == {"s"}  # no value of a masked commune


@pytest.fixture(scope="module")
def lozere_map(wh):
    return observatory.map(wh, "ess_share_employees", "commune", 48, 2022)


def test_a_commune_map_draws_one_polygon_per_commune_of_the_departement(lozere_map):
    """Communes were points only: the map now draws each commune's outline."""
    communes = reference.communes()
    lozere = set(communes.loc[communes["departement_code"] == "48", "code"])
    assert len(lozere) == 152
    data = lozere_map.data
    assert set(data["code"]) == lozere and data["code"].is_unique
    assert data.geom_type.isin(["Polygon", "MultiPolygon"]).all()
    traces = lozere_map.figure.data
    assert {trace.type for trace in traces} == {"choroplethmap"}
    drawn = [code for trace in traces for code in trace.locations]
    assert sorted(drawn) == sorted(lozere)  # each commune once
    assert "note" not in data.attrs


def test_the_communes_of_a_departement_cover_its_polygon(lozere_map):
    """Tolerance: the département's polygon is simplified more (0.004°) than the communes'
    (0.001°); in Lambert-93, each of the two differences is under 0.5 % of the département's
    area (measured 0.17 % each way) and its border is within 1 km of theirs (measured 483 m)."""
    departement = reference.departements().set_index("code").loc[["48"]].to_crs(2154).geometry
    departement = departement.iloc[0]
    union = shapely.union_all(lozere_map.data.to_crs(2154).geometry.to_numpy())
    assert shapely.difference(departement, union).area < 0.005 * departement.area
    assert shapely.difference(union, departement).area < 0.005 * departement.area
    assert shapely.hausdorff_distance(departement.boundary, union.boundary) < 1000


def test_masked_communes_stay_masked_on_the_commune_map(wh, lozere_map):
    table = observatory.table(wh, "ess_share_employees", "commune", 48, 2022)
    masked = set(table.loc[table["ess_share_employees_secret"], "code"])
    assert masked  # Lozère has communes under statistical secrecy
    data = lozere_map.data.set_index("code")
    assert data.loc[sorted(masked), "ess_share_employees"].isna().all()
    assert (data.loc[sorted(masked), "affichage"] == "s").all()
    for trace in lozere_map.figure.data:
        shown = dict(zip(trace.locations, (c[1] for c in trace.customdata)))
        for code in masked & set(shown):
            assert shown[code] == "s" and trace.name.startswith("s "), code
    grey = [code for t in lozere_map.figure.data if t.name.startswith("s ") for code in t.locations]
    assert sorted(grey) == sorted(masked)


def test_a_commune_without_an_outline_is_a_point_said_in_the_note(wh):
    """Four communes of the Cantal, restored from Neussargues en Pinatelle, have no outline."""
    drawn = observatory.map(wh, "ess_establishments", "commune", 15, 2022)
    points = drawn.data[drawn.data.geom_type == "Point"]
    assert sorted(points["code"]) == ["15031", "15035", "15047", "15171"]
    assert len(drawn.data) == 250 and drawn.data["code"].is_unique
    note = drawn.data.attrs["note"]
    assert note.startswith("Communes sans contour") and "Chalinargues" in note
    assert any(note == annotation.text for annotation in drawn.figure.layout.annotations)
    markers = [t for t in drawn.figure.data if t.type == "scattermap"]
    assert sum(len(t.lon) for t in markers) == 4
    assert not any(t.showlegend for t in markers)  # in the legend entry of their class
    polygons = sum(len(t.locations) for t in drawn.figure.data if t.type == "choroplethmap")
    assert polygons == 246


def _workbook(path):
    """(context lines as (name, text), header, body) of the sheet « Données », read with
    openpyxl: the context ends at the first blank row, the table follows."""
    rows = list(openpyxl.load_workbook(path)["Données"].iter_rows(values_only=True))
    blank = next(i for i, row in enumerate(rows) if all(v is None for v in row))
    return [row[:2] for row in rows[:blank]], rows[blank + 1], rows[blank + 2 :]


def test_to_excel_writes_numbers_marks_and_context(wh, tmp_path):
    frame = observatory.table(
        wh, ["ess_establishments", "ess_share_employees"], "commune", 48, 2022
    )
    path = observatory.to_excel(frame, tmp_path / "communes.xlsx", title="Communes de Lozère")
    context, header, body = _workbook(path)
    assert ("Titre", "Communes de Lozère") in context and ("Année", "2022") in context
    assert "Données de démonstration" in context[0][1]  # the label first of all
    assert any(name == "Source" and text for name, text in context)
    assert "Établissements employeurs de l'ESS" in header and "Code" in header
    assert len(body) == len(frame)
    establishments = header.index("Établissements employeurs de l'ESS")
    truth = frame.set_index("code")
    for row in body:
        code = row[header.index("Code")]
        assert isinstance(code, str) and code.startswith("48")
        if truth.at[code, "ess_establishments_secret"]:
            assert row[establishments] == "s"
        else:
            assert row[establishments] == truth.at[code, "ess_establishments"]
            assert isinstance(row[establishments], int)
    book = openpyxl.load_workbook(path)
    assert "Définitions" in book.sheetnames


def test_to_excel_is_the_one_spreadsheet_writer(wh, tmp_path):
    """api.to_excel wrote its own workbook (title in A1, no territory or year, no definition of
    the keys); it now writes the observatory's one layout (observatory/exports.py, as every
    download): « Nom » | text lines, French number formats by indicator, definitions."""
    frame = observatory.table(
        wh, ["ess_employees", "ess_share_employees", "ess_average_wage_fte"], "departement", 34
    )
    path = observatory.to_excel(frame, tmp_path / "herault.xlsx", title="Hérault")
    context, header, _body = _workbook(path)
    names = [name for name, _ in context]
    assert names[:2] == ["Avertissement", "Titre"] and "Produit par" in names
    assert ("Territoire", "Hérault") in context
    sheet = openpyxl.load_workbook(path)["Données"]
    formats = {
        heading: sheet.cell(sheet.max_row, column).number_format
        for column, heading in enumerate(header, start=1)
    }
    assert formats["Postes salariés de l'ESS"] == "#,##0"  # « 214 000 »
    assert formats["Part de l'ESS dans les postes salariés"] == '#,##0.0" %"'  # « 12,1 % »
    assert formats["Salaire brut annuel moyen par ETP dans l'ESS"] == '#,##0" €"'
    assert formats["Année"] == "General"  # 2022, not « 2 022 »
    definitions = {
        row[0]: row[1]
        for row in openpyxl.load_workbook(path)["Définitions"].iter_rows(values_only=True)
    }
    share = indicators.REGISTRY["ess_share_employees"].definition
    assert share in definitions["Part de l'ESS dans les postes salariés"]
    assert definitions["Code"] and definitions["Source"]


def test_to_excel_refuses_a_raw_view_for_publication(wh, tmp_path):
    raw = wh.key_figures("commune", "48001", 2022)
    with pytest.raises(api.RawTableError, match="sans secret statistique"):
        observatory.to_excel(raw, tmp_path / "brut.xlsx")
    assert not (tmp_path / "brut.xlsx").exists()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        observatory.to_excel(raw, tmp_path / "brut.xlsx", publication=False)
    assert any(issubclass(w.category, api.SecrecyWarning) for w in caught)
    context, _header, _body = _workbook(tmp_path / "brut.xlsx")
    assert ("Note", api.RAW_LINE) in context
