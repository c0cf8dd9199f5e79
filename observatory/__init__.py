"""Observatoire régional de l'économie sociale et solidaire (ESS).

What an analyst uses, secrecy first (:mod:`observatory.api`):

    >>> import observatory
    >>> wh = observatory.open_warehouse()
    >>> frame = observatory.table(wh, "ess_employees", "departement", within="region:76")
    >>> observatory.to_excel(frame, "departements.xlsx")
"""

# Name → module holding it, imported on first use: importing the package alone (as a
# dashboard's kernel does before its page is on screen) leaves pandas out.
_HOMES = {
    "Warehouse": "warehouse",
    "open_warehouse": "warehouse",
    "table": "api",
    "map": "api",
    "to_excel": "api",
    "Map": "api",
    "parse_territory": "territories",
    "ObservatoryError": "errors",
    "TerritoryError": "errors",
    "YearError": "errors",
    "SecrecyWarning": "errors",
}
_NAMES = {"parse_territory": "parse"}
_MODULES = ["analysis", "api", "indicators", "territories"]

__all__ = [*_HOMES, *_MODULES]


def __getattr__(name: str):
    """The API's names and modules, imported on first use."""
    import importlib

    if name in _HOMES:
        module = importlib.import_module(f"observatory.{_HOMES[name]}")
        return getattr(module, _NAMES.get(name, name))
    if name in _MODULES:
        return importlib.import_module(f"observatory.{name}")
    raise AttributeError(f"module 'observatory' has no attribute {name!r}")


def __dir__() -> list[str]:
    """Tab completion lists the API (``dir(observatory)``)."""
    return sorted(__all__)
