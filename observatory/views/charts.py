"""Charts as every view draws them: the colours, plotly's French locale and settings, bars a
phone shows whole, light GeoJSON, a figure as a notebook output."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go

from observatory import exports, formatting

# Okabe-Ito: distinguishable with every common colour-vision deficiency.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000"]
# Sequential cividis classes, light to dark; grey for masked areas.
CLASS_COLOURS = ["#fde838", "#c4b56c", "#8d8a76", "#575d6d", "#00224e"]
SECRET_COLOUR = "#d9d9d9"
MISSING_COLOUR = "#f2f2f2"  # no figure known: lighter than masked
DASHES = ["solid", "dash", "dot", "dashdot"]
SYMBOLS = ["circle", "square", "diamond", "triangle-up"]

# plotly.js's French locale (plotly.js lib/locales/fr.js, MIT), passed with each figure so that
# it works offline with the plotly renderer bundled in Voilà.
PLOTLY_LOCALE_FR = {
    "dictionary": {
        "Autoscale": "Échelle automatique",
        "Box Select": "Sélection rectangulaire",
        "Double-click to zoom back out": "Double-cliquer pour dézoomer",
        "Download plot as a PNG": "Télécharger le graphique en fichier PNG",
        "Download plot": "Télécharger le graphique",
        "Lasso Select": "Sélection lasso",
        "Pan": "Translation",
        "Produced with Plotly.js": "Généré avec Plotly.js",
        "Reset": "Réinitialiser",
        "Reset axes": "Réinitialiser les axes",
        "Reset view": "Réinitialiser",
        "Reset views": "Réinitialiser",
        "Snapshot succeeded": "Conversion réussie",
        "Sorry, there was a problem downloading your snapshot!": "Désolé, un problème est survenu lors du téléchargement de votre graphique",
        "Taking snapshot - this may take a few seconds": "Conversion en cours, ceci peut prendre quelques secondes",
        "Zoom": "Zoom",
        "Zoom in": "Zoom intérieur",
        "Zoom out": "Zoom extérieur",
        "trace": "série",
        "lat:": "lat. :",
        "lon:": "lon. :",
    },
    "format": {
        "days": ["Dimanche", "Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi"],
        "shortDays": ["Dim", "Lun", "Mar", "Mer", "Jeu", "Ven", "Sam"],
        "months": [
            "Janvier",
            "Février",
            "Mars",
            "Avril",
            "Mai",
            "Juin",
            "Juillet",
            "Août",
            "Septembre",
            "Octobre",
            "Novembre",
            "Décembre",
        ],
        "shortMonths": [
            "Jan",
            "Fév",
            "Mar",
            "Avr",
            "Mai",
            "Jun",
            "Jul",
            "Aoû",
            "Sep",
            "Oct",
            "Nov",
            "Déc",
        ],
        "date": "%d/%m/%Y",
        "decimal": ",",
        "thousands": "\u202f",
        "year": "%Y",
        "month": "%b %Y",
        "dayMonth": "%-d %b",
        "dayMonthYear": "%-d %b %Y",
    },
}


def plotly_config(filename: str) -> dict:
    """plotly config: French locale, only the PNG download button, always visible."""
    return {
        "locale": "fr",
        "locales": {"fr": PLOTLY_LOCALE_FR},
        "displaylogo": False,
        "displayModeBar": True,
        "responsive": True,  # redrawn at its box's width (a phone's, or once its output shows)
        "modeBarButtons": [["toImage"]],
        "toImageButtonOptions": {"format": "png", "filename": filename, "scale": 2},
    }


def french_layout(fig: go.Figure, height: int = 380) -> go.Figure:
    """French separators, readable fonts and margins."""
    fig.update_layout(
        separators=formatting.PLOTLY_SEPARATORS,
        height=height,
        template="none",
        font=dict(size=14, family="Arial, sans-serif"),
        margin=dict(l=10, r=30, t=50, b=40),
        plot_bgcolor="white",
        hoverlabel=dict(font_size=14),
    )
    return fig


BAR_THICKNESS = 22  # pixels of a labelled bar; its row adds BAR_SPACE and LABEL_LINE per line
BAR_SPACE = 10
LABEL_LINE = 16
LABEL_WIDTH = 46  # characters per line of a bar's label (a phone shows about 48)


def label_bars(fig: go.Figure, top: float, low: float = 0.0) -> go.Figure:
    """Horizontal bars a phone shows whole: each bar's label above it, the chart's width left
    to the bars, each value at its bar's end (inside a long bar), no axis. ``top``: the largest
    value drawn, ``low`` the smallest (below 0). Sets the chart's height (call before
    ``exports.stamp``)."""
    labels = list(dict.fromkeys(y for trace in fig.data for y in trace.y))
    wrapped = {label: exports.wrap(label, LABEL_WIDTH) for label in labels}
    lines = max([text.count("<br>") + 1 for text in wrapped.values()], default=1)
    slot = BAR_THICKNESS + BAR_SPACE + LABEL_LINE * lines
    fig.update_traces(
        textposition="auto",
        insidetextanchor="end",
        insidetextfont=dict(color="white"),
        outsidetextfont=dict(color="#1a1a1a"),
        constraintext="none",
        textangle=0,
        cliponaxis=False,
    )
    for label in labels:
        fig.add_annotation(
            x=0,
            xref="paper",
            y=label,
            yref="y",
            text=wrapped[label],
            showarrow=False,
            xanchor="left",
            yanchor="bottom",
            align="left",
            yshift=BAR_THICKNESS / 2 + 1,
            font=dict(size=13),
        )
    french_layout(fig, height=50 + 20 + slot * max(1, len(labels)))  # margins and rows
    fig.update_layout(bargap=1 - BAR_THICKNESS / slot, margin=dict(l=10, r=10, t=50, b=20))
    fig.update_yaxes(showticklabels=False, title=None, autorange="reversed", automargin=False)
    fig.update_xaxes(visible=False, range=[low * 1.2, float(top or 1) * 1.2])
    return fig


def compact(geojson):
    """GeoJSON whose coordinates are numpy arrays, one per ring or line: plotly copies a
    figure's data several times, and a map's nested lists of points made most of the time of a
    map (0,3 s of the 0,5 s of a map of 160 EPCI); the JSON sent is the same."""
    if isinstance(geojson, dict):
        return {key: compact(value) for key, value in geojson.items()}
    if isinstance(geojson, (list, tuple)):
        first = geojson[0] if geojson else None
        if isinstance(first, (list, tuple)) and first and isinstance(first[0], (int, float)):
            return np.asarray(geojson, dtype=float)
        return [compact(value) for value in geojson]
    return geojson


def figure_output(fig: go.Figure, filename: str) -> dict:
    """A figure as an output for the plotly MIME renderer, with the French config."""
    bundle = json.loads(fig.to_json())
    bundle["config"] = plotly_config(filename)
    return {
        "output_type": "display_data",
        "metadata": {},
        "data": {"application/vnd.plotly.v1+json": bundle, "text/plain": ""},
    }
