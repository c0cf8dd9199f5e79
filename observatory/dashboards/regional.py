"""Regional overview: key figures of a région and a map of the ESS share by département."""

from __future__ import annotations

import html
import math

import mapclassify
import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from observatory import formatting, reference, settings
from observatory.warehouse import Warehouse

# Colour-blind-safe sequential palette (cividis, five classes), light to dark.
CLASS_COLOURS = ["#fde838", "#c4b56c", "#8d8a76", "#575d6d", "#00224e"]
SHARE_LABEL = "Part de l'ESS dans l'emploi salarié"


def region_figures(wh: Warehouse, region: str, year: int) -> dict:
    """Key figures of the région and of France for one year, as plain numbers."""
    rows = wh.sql(
        "SELECT * FROM key_figures WHERE year = $year AND "
        "((level = 'region' AND code = $region) OR level = 'france')",
        dict(year=year, region=region),
    ).set_index("level")
    if "region" not in rows.index:
        raise ValueError(f"unknown région {region!r}")
    return {"region": rows.loc["region"].to_dict(), "france": rows.loc["france"].to_dict()}


def departement_table(wh: Warehouse, region: str, year: int) -> pd.DataFrame:
    """Départements of the région with ESS establishments, employees and share, by code."""
    return wh.key_figures("departement", year=year, region=region).sort_values("code")


def share_classes(shares: pd.Series, k: int = 5) -> pd.Series:
    """Class label of each share (Fisher-Jenks classes), from the smallest to the largest value
    of the class, e.g. « 11,2 % à 13,9 % » (or « 27,9 % » for a class of one value)."""
    k = max(1, min(k, shares.nunique()))
    bins = mapclassify.FisherJenks(shares.to_numpy(), k=k).bins
    classes = pd.Series(np.searchsorted(bins, shares.to_numpy()), index=shares.index)
    bounds = shares.groupby(classes).agg(["min", "max"])
    labels = {
        c: formatting.percent(lo) if formatting.percent(lo) == formatting.percent(hi)
        else f"{formatting.percent(lo)} à {formatting.percent(hi)}"
        for c, (lo, hi) in bounds.iterrows()
    }
    return classes.map(labels)


def share_map(table: pd.DataFrame, title: str) -> go.Figure:
    """Choropleth of the ESS share by département, in classes, rendered without any tile server."""
    shapes = reference.departements()
    shapes = shapes[shapes["code"].isin(table["code"])]
    data = table.assign(
        classe=share_classes(table["ess_share_pct"]),
        part=table["ess_share_pct"].map(formatting.percent),
        salaries=table["ess_employees"].map(formatting.number),
    )
    order = sorted(data["classe"].unique(), key=lambda label: data.loc[data["classe"] == label, "ess_share_pct"].min())
    minx, miny, maxx, maxy = shapes.total_bounds
    fig = px.choropleth_map(
        data,
        geojson=shapes.set_index("code")[["geometry"]].__geo_interface__,
        locations="code",
        color="classe",
        category_orders={"classe": order},
        color_discrete_sequence=CLASS_COLOURS[: len(order)],
        hover_name="name",
        hover_data={"code": False, "classe": False, "part": True, "salaries": True},
        labels={"classe": SHARE_LABEL, "part": "Part de l'ESS", "salaries": "Salariés de l'ESS"},
        map_style="white-bg",
        center={"lat": (miny + maxy) / 2, "lon": (minx + maxx) / 2},
        zoom=_zoom(maxx - minx, maxy - miny, (miny + maxy) / 2),
        title=title,
    )
    fig.update_traces(marker_line_width=1, marker_line_color="white")
    fig.update_layout(
        separators=formatting.PLOTLY_SEPARATORS,
        margin=dict(l=0, r=0, t=50, b=0),
        height=520,
        legend=dict(title=SHARE_LABEL, yanchor="top", y=0.98, xanchor="left", x=0.01),
    )
    return fig


def _zoom(width_deg: float, height_deg: float, mid_lat: float) -> float:
    """MapLibre zoom (512-pixel tiles) fitting a box in degrees into about 800 × 460 pixels."""
    stretch = 1 / math.cos(math.radians(mid_lat))  # Web Mercator stretches latitudes
    fit_x = 800 * 360 / (512 * max(width_deg, 1e-6))
    fit_y = 460 * 360 / (512 * max(height_deg * stretch, 1e-6))
    return max(1.0, min(12.0, math.log2(min(fit_x, fit_y))))


def key_figures_html(figures: dict, region_name: str, year: int) -> str:
    """Key figure cards as accessible HTML (each figure is text, not colour)."""
    reg, fr = figures["region"], figures["france"]
    cards = [
        ("Salariés de l'ESS", formatting.number(reg["ess_employees"]), "postes au 31 décembre"),
        ("Établissements employeurs", formatting.number(reg["ess_establishments"]), "de l'ESS"),
        (SHARE_LABEL, formatting.percent(reg["ess_share_pct"]),
         f"France : {formatting.percent(fr['ess_share_pct'])}"),
    ]
    items = "".join(
        f'<div class="obs-card" role="group" aria-label="{html.escape(label)}">'
        f'<div class="obs-card-label">{html.escape(label)}</div>'
        f'<div class="obs-card-value">{html.escape(value)}</div>'
        f'<div class="obs-card-note">{html.escape(note)}</div></div>'
        for label, value, note in cards
    )
    return (
        f'<section class="obs-key-figures" aria-label="Chiffres clés {html.escape(region_name)} {year}">'
        f"{items}</section>"
    )


def demo_banner_html() -> str:
    """The banner shown on every view built from demo data."""
    return (
        f'<div class="obs-demo-banner" role="note">{settings.DEMO_LABEL} : chiffres synthétiques '
        "calibrés sur des données publiées (INSEE, Clap 2014), à ne pas citer.</div>"
    )


def table_html(table: pd.DataFrame, caption: str) -> str:
    """The data table behind the map, in French formats."""
    rows = "".join(
        f"<tr><th scope='row'>{html.escape(r.name)} ({r.code})</th>"
        f"<td>{formatting.number(r.ess_establishments)}</td>"
        f"<td>{formatting.number(r.ess_employees)}</td>"
        f"<td>{formatting.number(r.total_employees)}</td>"
        f"<td>{formatting.percent(r.ess_share_pct)}</td></tr>"
        for r in table.itertuples()
    )
    return (
        f'<table class="obs-table"><caption>{html.escape(caption)}</caption><thead><tr>'
        "<th scope='col'>Département</th><th scope='col'>Établissements ESS</th>"
        "<th scope='col'>Salariés ESS</th><th scope='col'>Emploi salarié total</th>"
        f"<th scope='col'>Part de l'ESS</th></tr></thead><tbody>{rows}</tbody></table>"
    )


STYLE = """<style>
.obs-demo-banner{background:#fff3cd;border:2px solid #8a6d00;color:#3d3000;padding:.6em 1em;
 font-weight:bold;margin-bottom:1em}
.obs-key-figures{display:flex;gap:1em;flex-wrap:wrap;margin:1em 0}
.obs-card{border:1px solid #575d6d;border-radius:6px;padding:.8em 1.2em;min-width:14em}
.obs-card-label{font-size:.95em}.obs-card-value{font-size:2em;font-weight:bold}
.obs-card-note{font-size:.85em;color:#333}
.obs-table{border-collapse:collapse;margin-top:1em}.obs-table caption{text-align:left;font-weight:bold}
.obs-table th,.obs-table td{border:1px solid #ccc;padding:.3em .6em}.obs-table td{text-align:right}
.obs-table th[scope=row]{text-align:left;font-weight:normal}
.obs-source{font-size:.85em;color:#333;margin-top:.5em}
</style>"""


def source_html(wh: Warehouse, year: int) -> str:
    """Source, vintage and definitions line shown under each chart."""
    series = wh.sql("SELECT series FROM years WHERE year = $y", dict(y=year))["series"].iloc[0]
    origin = settings.DEMO_LABEL if wh.is_demo() else f"INSEE, {series}"
    return (
        f'<p class="obs-source">Source : {html.escape(origin)}, millésime {year}. '
        "Part de l'ESS : postes salariés au 31 décembre des établissements employeurs de l'ESS "
        "rapportés à l'ensemble des postes salariés (privés et publics) du territoire.</p>"
    )


def render(region: str = settings.DEFAULT_REGION, year: int | None = None) -> None:
    """Display the regional overview in the running notebook or Voilà page."""
    import plotly.io as pio
    from IPython.display import HTML, display

    pio.renderers.default = "plotly_mimetype"
    with Warehouse() as wh:
        year = year or wh.years()[-1]
        name = wh.territories("region").set_index("code").loc[region, "name"]
        figures = region_figures(wh, region, year)
        table = departement_table(wh, region, year)
        parts = [STYLE]
        if wh.is_demo():
            parts.append(demo_banner_html())
        parts += [f"<h1>L'ESS en {html.escape(name)} ({year})</h1>",
                  key_figures_html(figures, name, year)]
        display(HTML("".join(parts)))
        display(share_map(table, f"{SHARE_LABEL} par département, {name}, {year}"))
        display(HTML(source_html(wh, year) + table_html(table, f"Départements de la région {name}, {year}")))
