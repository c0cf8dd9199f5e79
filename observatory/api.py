"""What analysts use, secrecy first: a wide table of indicators over many territories and
years, a map, a spreadsheet. Re-exported by :mod:`observatory` (``observatory.table``…).

    >>> import observatory
    >>> wh = observatory.open_warehouse()
    >>> frame = observatory.table(wh, ["ess_employees", "ess_share_employees"], "departement",
    ...                           within="region:76", years=[2018, 2022])
    >>> observatory.to_excel(frame, "departements.xlsx")

Every figure comes from :func:`observatory.indicators.compute`, which applies INSEE's
statistical secrecy: a masked cell holds ``<NA>`` and its flag column ``<indicator>_secret`` is
``True``; a spreadsheet shows it « s ». Raw views (``wh.key_figures``, ``wh.sql``) are not
secrecy-checked and are refused for publication by :func:`to_excel`.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from observatory import exports, secrecy, territories
from observatory import indicators as engine
from observatory.errors import RawTableError, SecrecyWarning
from observatory.families import FAMILY_CODES
from observatory.size_classes import SIZE_CLASS_CODES
from observatory.warehouse import Warehouse

if TYPE_CHECKING:
    import geopandas as gpd
    import plotly.graph_objects as go

SECRET_SUFFIX = "_secret"
KEYS = ["level", "code", "name", "year"]
KEY_TITLES = {"level": "Niveau", "code": "Code", "name": "Territoire", "year": "Année"}
KEY_DEFINITIONS = {
    "level": "Niveau géographique : France, région, département, EPCI ou commune.",
    "code": "Code du territoire : code officiel géographique (INSEE), SIREN d'un EPCI, « FR ».",
    "name": "Nom du territoire.",
    "year": "Année des chiffres.",
}
# Formats whose values are counts or sums (nullable integers when whole).
WHOLE_FORMATS = ("number", "euros", "rank")
# Ordered categories of the breakdowns an analyst sorts and groups by.
FAMILY_DTYPE = pd.CategoricalDtype(FAMILY_CODES, ordered=True)
SIZE_CLASS_DTYPE = pd.CategoricalDtype(SIZE_CLASS_CODES, ordered=True)
RAW_REFUSED = (
    "tableau brut de l'entrepôt (wh.key_figures, wh.sql), sans secret statistique : il ne peut "
    "pas être publié. Utilisez observatory.table(…), qui applique le secret, ou, pour un "
    "usage interne seulement, passez publication=False"
)
RAW_LINE = "Données brutes, sans secret statistique : usage interne, ne pas diffuser."
SECRET_LINE = "« s » : secret statistique (chiffre masqué selon les règles de l'INSEE)."


def table(
    wh: Warehouse,
    indicators: str | list[str],
    level: str,
    within=None,
    years=None,
) -> pd.DataFrame:
    """A wide table: one row per territory and year, one column per indicator, secrecy applied.

    Parameters
    ----------
    wh : Warehouse
        The warehouse (``observatory.open_warehouse()``).
    indicators : str or list of str
        Indicator codes of ``indicators.catalogue()`` (``"ess_employees"``…). An indicator
        broken down (by family, size class…) gives one column per category,
        ``family_employees:ASSO``, in the official order.
    level : str
        Level of the rows: « région », ``"departement"``, ``"epci"``, ``"commune"``,
        ``"france"``.
    within : str, int or Territory, optional
        Only the territories of ``level`` inside this one (``"region:76"``, ``34``).
    years : int or list of int, optional
        The years (default: the latest year of the warehouse).

    Returns
    -------
    pandas.DataFrame
        Columns ``level``, ``code``, ``name``, ``year`` (int), then each indicator's values
        (nullable ``Int64`` for counts and sums, ``Float64`` otherwise; ``<NA>`` when masked or
        unknown) and its flag ``<column>_secret``. ``attrs``: ``secrecy`` (``True``),
        ``labels`` (French column titles), ``definitions``, ``sources``, ``demo``.

    Examples
    --------
    >>> frame = table(wh, "ess_employees", "departement", within="region:76", years=2022)
    >>> frame.loc[frame["code"] == "48", "ess_employees"].item()
    5286
    """
    wanted = _indicator_codes(indicators)
    places = members(wh, level, within)
    chosen_years = _years(wh, years)
    themes = tuple(dict.fromkeys(engine.REGISTRY[code].theme for code in wanted))
    tidy = engine.compute_many(wh, places, chosen_years, themes=themes)
    return wide(tidy, wanted, demo=wh.is_demo())


def wide(tidy: pd.DataFrame, wanted: list[str], demo: bool = False) -> pd.DataFrame:
    """The rows of ``wanted`` indicators of a tidy frame of :func:`observatory.indicators.compute`, one
    row per territory and year (see :func:`table`)."""
    rows = tidy[tidy["indicator"].isin(wanted)].copy()
    # A breakdown (families, size classes…) gives a column per category; a category that is
    # one per row (the period of a growth rate) does not.
    several = rows.groupby(["indicator", "code", "year"]).size().groupby("indicator").max() > 1
    rows["column"] = [
        f"{ind}:{cat}" if several.get(ind, False) else ind
        for ind, cat in zip(rows["indicator"], rows["category"])
    ]
    order = sorted(dict.fromkeys(rows["column"]), key=lambda c: wanted.index(c.split(":", 1)[0]))
    keys = rows[KEYS].drop_duplicates().reset_index(drop=True)
    where = pd.MultiIndex.from_frame(keys[["code", "year"]])
    keyed = rows.set_index(["code", "year"])
    frame = keys.astype({"year": "int64"})
    labels, definitions = {}, {}
    for column in order:
        picked = keyed[keyed["column"] == column]
        values = picked["value"].reindex(where)
        secret = picked["secret"].reindex(where, fill_value=False)
        meta = engine.REGISTRY[picked["indicator"].iloc[0]]
        whole = meta.fmt in WHOLE_FORMATS and values.dropna().mod(1).eq(0).all()
        frame[column] = values.to_numpy()
        frame[column] = frame[column].astype("Int64" if whole else "Float64")
        frame[column + SECRET_SUFFIX] = secret.to_numpy(dtype=bool)
        category = picked["category_label"].iloc[0] if ":" in column else None
        category = None if pd.isna(category) else category
        labels[column] = f"{meta.label} : {category}" if category else meta.label
        definitions[column] = f"{meta.definition} ({meta.unit})"
    frame.attrs = {
        "secrecy": True,
        "labels": labels,
        "definitions": definitions,
        "sources": sorted(set(rows["source"].dropna())),
        "demo": demo,
    }
    return frame


def members(wh: Warehouse, level: str, within=None) -> list[engine.Territory]:
    """The territories of ``level`` (inside ``within`` when given), by code; an empty choice
    is refused in French rather than answered with an empty table."""
    level = territories.level_name(level)
    if level is None:
        raise territories.TerritoryError("niveau manquant : France, région, département, EPCI…")
    inside = territories.parse(wh, within) if within is not None else None
    if inside is not None and inside.level == level:
        return [inside]
    scope = {} if inside is None or inside.level == "france" else {inside.level: inside.code}
    if inside is not None and inside.level == "commune":
        scope = None
    codes = [] if scope is None else wh.territories(level, **scope)["code"].tolist()
    if not codes:
        where = f" dans {inside.label}" if inside is not None else ""
        raise territories.TerritoryError(
            f"aucun territoire de niveau {territories.LEVEL_TITLES[level]}{where}"
        )
    return [engine.resolve(wh, code, level) for code in codes]


def _indicator_codes(wanted) -> list[str]:
    """Indicator codes, checked against the catalogue (with the closest code suggested)."""
    import difflib

    codes = [wanted] if isinstance(wanted, str) else list(wanted)
    for code in codes:
        if code not in engine.REGISTRY:
            close = difflib.get_close_matches(str(code), list(engine.REGISTRY), n=3)
            hint = f" ; vouliez-vous dire : {', '.join(close)} ?" if close else ""
            raise KeyError(f"indicateur « {code} » inconnu (liste : indicators.catalogue()){hint}")
    if not codes:
        raise KeyError("aucun indicateur demandé (liste : indicators.catalogue())")
    return codes


def _years(wh: Warehouse, years) -> list[int]:
    """The years asked for, each checked (French error for a year not loaded)."""
    if years is None or isinstance(years, int | str | np.integer):
        years = [years]
    return [engine.resolve_year(wh, year) for year in years]


# ---------------------------------------------------------------------------------------------
# Maps


@dataclass(frozen=True)
class Map:
    """A map's data (a GeoDataFrame, ready for ``gdf.plot()``) and its plotly figure."""

    data: gpd.GeoDataFrame
    figure: go.Figure

    def _repr_html_(self) -> str:  # a notebook shows the figure
        return self.figure.to_html(include_plotlyjs="cdn", full_html=False)


def map(wh: Warehouse, indicator: str, level: str, within=None, year=None) -> Map:
    """A choropleth of one indicator over the territories of ``level`` inside ``within``, in
    Fisher-Jenks classes, masked territories in grey (« s »), drawn without any tile server.

    Parameters
    ----------
    wh : Warehouse
    indicator : str
        An indicator without breakdown (``"ess_share_employees"``, ``"ess_employees"``…).
    level : str
        ``"region"``, ``"departement"``, ``"epci"`` or ``"commune"`` (polygons; a commune
        without an outline in the reference is drawn as a point, said in the figure's note
        and in ``attrs["note"]``).
    within : str, int or Territory, optional
        The territory mapped (``"region:76"``); all of France when omitted.
    year : int, optional
        Default: the latest year.

    Returns
    -------
    Map
        ``.data``: GeoDataFrame with ``code``, ``name``, the values, ``<indicator>_secret``,
        ``classe`` and ``geometry`` (EPSG:4326); ``.figure``: the plotly figure.

    Examples
    --------
    >>> drawn = map(wh, "ess_share_employees", "departement", within="region:76")
    >>> drawn.data.plot(column=drawn.data["ess_share_employees"].astype(float))
    """
    from observatory import reference
    from observatory.views import maps

    frame = table(wh, indicator, level, within, year)
    if len(frame.columns) != len(KEYS) + 2:
        raise KeyError(f"l'indicateur « {indicator} » se décline par catégorie : choisissez-en un")
    level = territories.level_name(level)
    shapes = {
        "region": reference.regions,
        "departement": reference.departements,
        "epci": reference.epcis,
        "commune": _commune_shapes,
    }[level]()[["code", "geometry"]]
    meta = engine.REGISTRY[indicator]
    values = frame[indicator].astype("Float64")
    secret = frame[indicator + SECRET_SUFFIX]
    visible = ~secret & values.notna()
    frame["classe"] = np.where(secret, maps.SECRET_CLASS, maps.MISSING_CLASS)
    if visible.any():
        shown = values[visible].astype(float)
        frame.loc[visible, "classe"] = maps.natural_classes(
            shown, 5, lambda v: engine.display(v, meta.fmt)
        )
    frame["affichage"] = [
        secrecy.MARK if s else engine.display(v, meta.fmt)
        for v, s in zip(values.astype(float).fillna(np.nan), secret)
    ]
    import geopandas as gpd

    data = gpd.GeoDataFrame(frame.merge(shapes, on="code", how="left"), crs="EPSG:4326")
    data.attrs = dict(frame.attrs)
    points = data[data.geometry.geom_type.eq("Point")]
    if level == "commune" and len(points):
        several = len(points) > 1
        data.attrs["note"] = (
            f"{'Communes' if several else 'Commune'} sans contour dans la géographie de "
            f"référence, {'représentées' if several else 'représentée'} par un point : "
            f"{', '.join(points['name'])}."
        )
    title = f"{meta.label}, {_place_title(wh, within)}, {int(frame['year'].iloc[0])}"
    return Map(data, _figure(data, indicator, meta, title))


def _commune_shapes() -> gpd.GeoDataFrame:
    """Every commune's outline (``reference.commune_polygons``), its point where it has none."""
    from observatory import reference

    points = reference.communes()[["code", "geometry"]]
    outlines = reference.commune_polygons().set_index("code").geometry
    return points.assign(geometry=points["code"].map(outlines).fillna(points.geometry))


def _place_title(wh: Warehouse, within) -> str:
    return territories.parse(wh, within).name if within is not None else "France"


def _figure(data, indicator: str, meta, title: str) -> go.Figure:
    """The views' choropleth (polygons; points for communes without an outline, in the same
    legend entry), legend from low to high."""
    from observatory.views import maps

    plain = data.dropna(subset=["geometry"])
    is_point = plain.geometry.geom_type.eq("Point").to_numpy()
    dots = plain[is_point]
    note = data.attrs.get("note")
    fig = maps.choropleth(
        plain,
        maps.class_colours(plain, indicator),
        maps.features(plain[~is_point].set_index("code")[["geometry"]]),
        (
            ["name", "affichage"],
            f"<b>%{{customdata[0]}}</b><br>{meta.label} : %{{customdata[1]}}<extra></extra>",
        ),
        title,
        plain.total_bounds if len(plain) else (-5.0, 41.0, 10.0, 51.0),
        points=pd.DataFrame({"code": dots["code"], "lon": dots.geometry.x, "lat": dots.geometry.y}),
        height=520,
        margin=dict(l=0, r=0, t=50, b=30 if note else 0),
        legend=dict(title=dict(text=meta.label), x=0.01, y=0.98, bgcolor="rgba(255,255,255,0.85)"),
    )
    if note:
        fig.add_annotation(
            text=note,
            xref="paper",
            yref="paper",
            x=0,
            y=0,
            xanchor="left",
            yanchor="top",
            yshift=-4,
            showarrow=False,
            align="left",
            font=dict(size=11),
        )
    return fig


# ---------------------------------------------------------------------------------------------
# Spreadsheets

# Columns never read as numbers.
TEXT_COLUMNS = {"level", "code", "name", "Code", "Territoire", "territoire", "niveau"}
# French display numbers (« 4 333 », « 12,1 % », « 152 541 654 € »), read back as numbers.
FRENCH_NUMBER = re.compile(r"^([−+-]?[\d\u202f\u00a0 ]+(?:,\d+)?)(\u202f%|\u00a0€| %| €)?$")


def french_number(text: str) -> tuple[float, str] | None:
    """``"4\u202f333"`` → ``(4333.0, "")``, ``"12,1\u202f%"`` → ``(12.1, "%")``; ``None``
    for any other text."""
    found = FRENCH_NUMBER.match(text.strip())
    if not found:
        return None
    digits = re.sub(r"[\u202f\u00a0 ]", "", found.group(1)).replace(",", ".").replace("−", "-")
    return float(digits), (found.group(2) or "").strip("\u202f\u00a0 ")


def published_cells(frame: pd.DataFrame, publication: bool = True) -> pd.DataFrame:
    """The cells a file shows: numbers as numbers, « s » in every masked cell (flag columns
    ``<column>_secret`` of :func:`table`, or cells already reading « s »), French display
    texts read back as numbers; the flag columns dropped, the French titles of ``attrs``.
    A raw view (``attrs["secrecy"] is False``) is refused unless ``publication=False``."""
    if frame.attrs.get("secrecy") is False:
        if publication:
            raise RawTableError(RAW_REFUSED)
        warnings.warn(RAW_LINE, SecrecyWarning, stacklevel=3)
    data = frame.reset_index() if frame.index.name is not None else frame.copy()
    flags = [c for c in data.columns if str(c).endswith(SECRET_SUFFIX)]
    cells = data.drop(columns=flags).astype(object)
    for flag in flags:
        column = flag[: -len(SECRET_SUFFIX)]
        if column in cells:
            cells.loc[data[flag].to_numpy(dtype=bool), column] = secrecy.MARK
    for column in cells.columns:
        if column in TEXT_COLUMNS:  # codes stay text (« 01 »)
            cells[column] = cells[column].astype(str)
        else:
            cells[column] = [_cell(value) for value in cells[column]]
    titles = {**KEY_TITLES, **frame.attrs.get("labels", {})}
    return cells.rename(columns=lambda c: titles.get(c, c))


def _cell(value):
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, str):
        read = french_number(value)
        return read[0] if read else value
    if isinstance(value, np.integer | np.floating | np.bool_):
        return value.item()
    return value


def to_excel(
    frame: pd.DataFrame,
    path: Path | str,
    *,
    title: str = "Tableau de l'observatoire de l'ESS",
    publication: bool = True,
) -> Path:
    """Write a table to an .xlsx workbook for readers, with the observatory's one spreadsheet
    writer (:mod:`observatory.exports`, as every download of the dashboards and the site): the
    demonstration label on demo data, the title, territory, year, sources and notes, then the
    table (numbers as numbers in French formats, « s » in masked cells), and a sheet
    « Définitions ».

    Parameters
    ----------
    frame : pandas.DataFrame
        A table of :func:`table` (or any secrecy-checked frame; a raw view of the warehouse is
        refused unless ``publication=False``, which warns and marks the sheet).
    path : str or Path
        Where to write (``.xlsx``).
    title : str
        The table's title.
    publication : bool
        ``False`` writes a raw view for internal work, with a warning.

    Examples
    --------
    >>> to_excel(table(wh, "ess_employees", "departement", within="region:76"), "dep.xlsx")
    """
    path = Path(path)
    cells = published_cells(frame, publication)
    sources = frame.attrs.get("sources") or []
    raw = frame.attrs.get("secrecy") is False
    sheet = exports.Table(
        cells,
        title,
        territory=_only(frame, "name"),
        year=_years_shown(frame),
        source=" ; ".join(sources) if sources else "entrepôt de l'observatoire",
        notes=[RAW_LINE if raw else SECRET_LINE],
        demo=bool(frame.attrs.get("demo")),
        columns=_export_columns(frame, cells),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    return exports.write(sheet, path)


# Excel's formats of the indicators' display formats (kind, decimals): « 214 000 », « 12,1 % ».
EXPORT_KINDS = {
    "percent": ("percent", 1),
    "signed": ("signed", 1),
    "euros": ("euros", 0),
    "number": ("number", 2),
    "rank": ("integer", 0),
}


def _export_columns(frame: pd.DataFrame, cells: pd.DataFrame) -> dict[str, exports.Column]:
    """How each column of ``cells`` is written: the keys as text (codes keep their zeros, a
    year is not grouped « 2 022 »), each indicator in its format, with its definition."""
    codes = {v: k for k, v in frame.attrs.get("labels", {}).items()}
    definitions = frame.attrs.get("definitions", {})
    columns = {
        title: exports.Column(title, definition=KEY_DEFINITIONS[key])
        for key, title in KEY_TITLES.items()
    }
    for title in cells.columns:
        column = codes.get(title, title)
        meta = engine.REGISTRY.get(str(column).split(":", 1)[0])
        if meta is not None:
            kind, decimals = EXPORT_KINDS.get(meta.fmt, ("decimal", 2))
            columns[title] = exports.Column(
                title, kind, decimals, definitions.get(column, meta.definition)
            )
    return columns


def _only(frame: pd.DataFrame, column: str) -> str:
    """The one value of ``column`` (one territory), or nothing."""
    values = frame[column].dropna().unique() if column in frame else []
    return str(values[0]) if len(values) == 1 else ""


def _years_shown(frame: pd.DataFrame) -> str:
    """« 2022 », or « 2014 à 2022 » for a table over several years."""
    years = sorted(frame["year"].dropna().unique()) if "year" in frame else []
    if not years:
        return ""
    return str(years[0]) if len(years) == 1 else f"{years[0]} à {years[-1]}"
