"""Observatoire régional de l'économie sociale et solidaire (ESS)."""

from observatory.warehouse import Warehouse, open_warehouse

__all__ = ["Warehouse", "open_warehouse"]
