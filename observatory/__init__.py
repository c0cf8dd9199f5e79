"""Observatoire régional de l'économie sociale et solidaire (ESS)."""

__all__ = ["Warehouse", "open_warehouse"]


def __getattr__(name: str):
    """``Warehouse`` and ``open_warehouse``, imported on first use: importing the package alone
    (as a dashboard's kernel does before its page is on screen) leaves pandas out."""
    if name in __all__:
        from observatory import warehouse

        return getattr(warehouse, name)
    raise AttributeError(f"module 'observatory' has no attribute {name!r}")
