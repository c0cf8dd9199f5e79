"""French formatting of everything a user reads: numbers, percentages, money, dates.

Numbers follow the French typographic rules of the CLDR (through babel): a narrow no-break
space groups thousands and a comma marks decimals, so ``214000`` reads ``214 000`` and
``12.1`` per cent reads ``12,1 %``.
"""

from __future__ import annotations

import math
import unicodedata
from datetime import date, datetime

from babel.dates import format_date as _babel_date
from babel.numbers import format_decimal

LOCALE = "fr_FR"
MISSING = "–"


def _is_missing(value) -> bool:
    """None, NaN, or pandas' NA (nullable Int64 and Float64 columns), told by its type's name
    so that this module needs no pandas."""
    return (
        value is None
        or type(value).__name__ == "NAType"
        or (isinstance(value, float) and math.isnan(value))
    )


def number(value, decimals: int = 0) -> str:
    """``214000`` → ``214 000``; ``1234.5`` with one decimal → ``1 234,5``."""
    if _is_missing(value):
        return MISSING
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(round(float(value), decimals), format=pattern, locale=LOCALE)


def percent(value, decimals: int = 1) -> str:
    """A percentage given in per cent: ``12.1`` → ``12,1 %``."""
    if _is_missing(value):
        return MISSING
    return f"{number(value, decimals)}\u202f%"


def euros(value) -> str:
    """``1234567`` → ``1 234 567 €``."""
    if _is_missing(value):
        return MISSING
    return f"{number(value)}\u00a0€"


def signed_percent(value, decimals: int = 1) -> str:
    """A change in per cent with its sign: ``+1,2 %``, ``-0,4 %``."""
    if _is_missing(value):
        return MISSING
    sign = "+" if value > 0 else ""
    return sign + percent(value, decimals).replace("-", "\u2212")


def long_date(value: date | datetime) -> str:
    """``2026-11-22`` → ``22 novembre 2026``."""
    return _babel_date(value, format="long", locale=LOCALE)


def file_size(n_bytes: int) -> str:
    """A size in decimal units, as French users read them: ``1_934_000_000`` → ``1,9 Go``,
    ``901_000_000`` → ``901 Mo``."""
    for unit, scale in (("Go", 1e9), ("Mo", 1e6), ("ko", 1e3)):
        if n_bytes >= scale:
            value = n_bytes / scale
            return f"{number(value, 1 if value < 100 else 0)}\u00a0{unit}"
    return f"{number(n_bytes)}\u00a0octet{'s' if n_bytes > 1 else ''}"


def duration(seconds: float) -> str:
    """``4.23`` → ``4,2 s``; ``192`` → ``3 min 12 s``; ``4000`` → ``1 h 06 min``."""
    if seconds < 60:
        return f"{number(seconds, 1)}\u00a0s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}\u00a0min {rest:02d}\u00a0s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}\u00a0h {minutes:02d}\u00a0min"


PLOTLY_SEPARATORS = ",\u202f"  # decimal comma, narrow no-break space for thousands


def of_name(name: str) -> str:
    """« de » before a proper name, as French writes it: « d'Agen », « du Havre », « des
    Mées », « de La Rochelle », « de Mende » (no elision before « h », aspirated or not:
    « de Hendaye »)."""
    if name.startswith("Le "):
        return "du " + name[3:]
    if name.startswith("Les "):
        return "des " + name[4:]
    first = unicodedata.normalize("NFD", name[:1])[:1].lower()
    return ("d'" if first and first in "aeiouy" else "de ") + name
