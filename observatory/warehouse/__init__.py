"""The warehouse room: the read-only connection analysts, dashboards and the command line use
(:mod:`.connection`), the atomic build (:mod:`.build`) and the SQL runner (:mod:`.sql`) of the
files in ``observatory/sql`` (landing → staging → marts, checks, ingest)."""

from observatory.warehouse.connection import (
    EXTERNAL_ACCESS_WARNING,
    HEADER_BYTES,
    NOT_SECRECY_CHECKED,
    ExternalAccessWarning,
    Warehouse,
    WarehouseAccessError,
    WarehouseCorruptError,
    WarehouseInUseError,
    WarehouseMissingError,
    missing_units_note,
    note_text,
    open_warehouse,
)

__all__ = [
    "EXTERNAL_ACCESS_WARNING",
    "HEADER_BYTES",
    "NOT_SECRECY_CHECKED",
    "ExternalAccessWarning",
    "Warehouse",
    "WarehouseAccessError",
    "WarehouseCorruptError",
    "WarehouseInUseError",
    "WarehouseMissingError",
    "missing_units_note",
    "note_text",
    "open_warehouse",
]
