"""The portrait of a territory: every indicator, secrecy applied, written as JSON, CSV or XLSX.

    >>> from observatory import open_warehouse, portrait
    >>> wh = open_warehouse()
    >>> frame = portrait.portrait(wh, "34", year=2022)        # Hérault
    >>> portrait.write(frame, "herault.xlsx")

Codes follow the command line's rules: a bare code of 2 or 3 characters is a département,
5 characters a commune, 9 digits an EPCI; régions and France need ``level``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

import numpy as np
import pandas as pd

from observatory import indicators, secrecy, settings
from observatory.warehouse import Warehouse

FORMATS = ("json", "csv", "xlsx")
# Output columns, in French: what a reader of the file sees.
HEADERS = {
    "theme": "theme",
    "indicator": "indicateur",
    "label": "libelle",
    "level": "niveau",
    "code": "code",
    "name": "territoire",
    "year": "annee",
    "breakdown": "ventilation",
    "category": "categorie",
    "category_label": "libelle_categorie",
    "value": "valeur",
    "unit": "unite",
    "display": "affichage",
    "secret": "secret",
    "available": "disponible",
    "series_break": "rupture_de_serie",
    "note": "note",
    "source": "source",
}


class OutputFormatError(ValueError):
    """An output file whose extension is not json, csv or xlsx."""


def parse_reference(wh: Warehouse, text: str | None) -> indicators.Territory | None:
    """The comparison territory: ``parent`` (default), ``FR``, ``region:76``, or a bare code."""
    if text is None or text.strip().lower() == "parent":
        return None
    level, sep, code = text.strip().partition(":")
    if sep:
        return indicators.resolve(wh, code, level.lower())
    return indicators.resolve(wh, text)


def portrait(
    wh: Warehouse,
    code: str | None,
    level: str | None = None,
    year: int | None = None,
    reference: str | None = None,
    secrecy: bool = True,
) -> pd.DataFrame:
    """Every indicator of a territory for a year, secrecy applied (see :mod:`indicators`)."""
    territory = indicators.resolve(wh, code, level)
    return indicators.compute(
        wh,
        territory.level,
        territory.code,
        year,
        reference=parse_reference(wh, reference),
        secrecy=secrecy,
    )


def table(frame: pd.DataFrame) -> pd.DataFrame:
    """The portrait as published: French headers, masked values as « s »."""
    values = frame["value"].astype(object).where(frame["value"].notna(), None)
    values[frame["secret"].to_numpy()] = secrecy.MARK
    out = frame.assign(value=values)[list(HEADERS)].rename(columns=HEADERS)
    return out.astype({"secret": bool, "disponible": bool, "rupture_de_serie": bool})


def to_json(frame: pd.DataFrame) -> dict:
    """The portrait as a JSON-ready document (territory, year, secrecy, rows)."""
    rows = table(frame).replace({np.nan: None}).to_dict(orient="records")
    first = frame.iloc[0] if len(frame) else None
    return {
        "territoire": frame.attrs.get("territory"),
        "niveau": None if first is None else first["level"],
        "code": None if first is None else first["code"],
        "annee": frame.attrs.get("year"),
        "secret_statistique": "appliqué"
        if frame.attrs.get("secrecy", True)
        else "désactivé (usage interne, ne pas diffuser)",
        "avertissement": settings.DEMO_LABEL
        if any(str(s).startswith(settings.DEMO_LABEL) for s in frame["source"])
        else None,
        "indicateurs": rows,
    }


def output_format(path: Path | str) -> str:
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in FORMATS:
        raise OutputFormatError(
            f"format de sortie « .{suffix} » non pris en charge : .json, .csv ou .xlsx"
        )
    return suffix


def write(
    frame: pd.DataFrame, path: Path | str | None = None, stdout: TextIO | None = None
) -> None:
    """Write the portrait to ``path`` (format from its extension) or as JSON to stdout."""
    if path is None:
        json.dump(to_json(frame), stdout or sys.stdout, ensure_ascii=False, indent=2)
        (stdout or sys.stdout).write("\n")
        return
    path = Path(path)
    kind = output_format(path)
    if kind == "json":
        path.write_text(
            json.dumps(to_json(frame), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
    elif kind == "csv":
        table(frame).to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    else:
        # Each indicator's source as in the portrait (demo, SIRENE estimate, published file).
        shown = frame.groupby("indicator", sort=False)["source"].agg(
            lambda sources: " ; ".join(dict.fromkeys(sources))
        )
        catalogue = indicators.catalogue()
        catalogue["source"] = catalogue["code"].map(shown).fillna(catalogue["source"])
        definitions = catalogue.rename(
            columns={
                "code": "indicateur",
                "theme": "theme",
                "label": "libelle",
                "definition": "definition",
                "unit": "unite",
                "source": "source",
                "fmt": "format",
            }
        )
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            table(frame).to_excel(writer, sheet_name="Portrait", index=False)
            definitions.to_excel(writer, sheet_name="Définitions", index=False)
