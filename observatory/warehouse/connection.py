"""Read-only access to the warehouse for analysts, dashboards and the command line.

>>> from observatory import open_warehouse
>>> wh = open_warehouse()
>>> wh.key_figures("departement", region="76", year=2022)

The connection is locked down: DuckDB reaches no file but the warehouse and no network
(no ``read_csv``, ``glob``, ``COPY … TO``, ``ATTACH``, ``INSTALL``), and its configuration cannot
be changed. An analyst reading files of their own opens it with ``external_access=True``, which
warns.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from observatory import formatting, settings
from observatory.errors import (
    ExternalAccessWarning,
    WarehouseAccessError,
    WarehouseCorruptError,
    WarehouseInUseError,
    WarehouseMissingError,
)

if TYPE_CHECKING:  # DuckDB's .df() imports pandas on first use
    import pandas as pd


# A DuckDB file is three header blocks of 4 KiB followed by its storage blocks.
HEADER_BYTES = 3 * 4096
# The highest storage block in use: catalogue (metadata) blocks and every table's data blocks.
# DuckDB trims free blocks from the end of its file, so the file may hold fewer blocks than
# pragma_database_size's total_blocks, never fewer than the highest block in use plus one.
HIGHEST_BLOCK = """
SELECT max(block) FROM (
    SELECT max(block_id) AS block FROM pragma_metadata_info()
    {tables}
)
"""
TABLE_BLOCKS = (
    "UNION ALL SELECT greatest(max(block_id), max(list_max(additional_block_ids))) "
    "FROM pragma_storage_info('{table}') WHERE persistent"
)
# DuckDB's messages about a damaged file (unreadable block, bad checksum).
CORRUPTION = ("Corrupt database file", "Could not read enough bytes", "not a valid DuckDB database")


# What a raw view's frame says of itself (``attrs["note"]``).
NOT_SECRECY_CHECKED = (
    "Données brutes de l'entrepôt, sans secret statistique : à ne pas publier telles quelles "
    "(observatory.table applique le secret)."
)


EXTERNAL_ACCESS_WARNING = (
    "Entrepôt ouvert avec l'accès aux fichiers et au réseau : réservé au travail de l'analyste, "
    "jamais pour un tableau de bord ni pour le site."
)


def _refused(exc: duckdb.Error) -> WarehouseAccessError | None:
    """The French error for DuckDB's refusal of an external access or a setting, if it is one."""
    text = str(exc)
    advice = (
        "l'entrepôt est ouvert sans accès aux fichiers extérieurs ni au réseau ; pour travailler "
        "sur vos propres fichiers, ouvrez-le avec open_warehouse(external_access=True)"
    )
    if setting := re.search(
        r'configuration option "([^"]+)" - the configuration has been locked', text
    ):
        return WarehouseAccessError(
            f"réglage « {setting.group(1)} » refusé : la configuration de l'entrepôt est "
            f"verrouillée ({advice})"
        )
    if not isinstance(exc, duckdb.PermissionException):
        return None
    if "extension" in text:
        return WarehouseAccessError(f"installation ou chargement d'extension refusé : {advice}")
    target = re.search(r'Cannot access (?:file|directory) "([^"]*)"', text)
    what = f"accès à « {target.group(1)} »" if target else "accès extérieur"
    return WarehouseAccessError(f"{what} refusé : {advice}")


def _damaged(exc: duckdb.Error) -> bool:
    """True for DuckDB's errors about a damaged file (not a lock, a syntax error…)."""
    return any(sign in str(exc) for sign in CORRUPTION)


def _truncated(con: duckdb.DuckDBPyConnection, file_size: int) -> bool:
    """True when the file lacks a block DuckDB uses. The file holds every block DuckDB counts
    (the usual case, checked at no cost) or, after a load freed blocks that DuckDB then trimmed
    from its end, at least up to the highest block in use (a query on the storage of every
    table, measured beside DuckDB's own 25 to 30 ms to open a file: 30 ms on a warehouse of the
    test files, 60 ms after loading 4 million generated SIRENE establishments, 0.13 to 0.26 s on
    the 370 MB demo warehouse, which a build writes whole and never needs it)."""
    blocks, size = con.execute(
        "SELECT total_blocks, block_size FROM pragma_database_size()"
    ).fetchall()[0]
    whole_blocks = (file_size - HEADER_BYTES) // size
    if whole_blocks >= blocks:
        return False
    tables = con.execute(
        "SELECT '\"' || replace(schema_name, '\"', '\"\"') || '\".\"' "
        "|| replace(table_name, '\"', '\"\"') || '\"' "
        "FROM duckdb_tables() WHERE database_name = current_database()"
    ).fetchall()
    query = HIGHEST_BLOCK.format(
        tables="\n".join(TABLE_BLOCKS.format(table=name.replace("'", "''")) for (name,) in tables)
    )
    highest = con.execute(query).fetchall()[0][0]
    return highest is not None and whole_blocks <= highest


class Warehouse:
    """A read-only connection to the DuckDB warehouse that returns DataFrames.

    ``external_access=False`` (the default): no file but the warehouse, no network, no extension,
    and the configuration locked once ``threads`` is set. DuckDB shares one database per file
    within a process: a second warehouse on the same file shares the first one's settings."""

    def __init__(
        self,
        path: Path | str | None = None,
        *,
        external_access: bool = False,
        threads: int | None = None,
    ):
        self.path = Path(path or settings.db_path())
        if not self.path.is_file():
            raise WarehouseMissingError(
                f"aucun entrepôt à {self.path} : lancez d'abord `observatory build`"
            )
        try:
            self._con = duckdb.connect(
                str(self.path),
                read_only=True,
                config={"enable_external_access": external_access},
            )
            truncated = _truncated(self._con, self.path.stat().st_size)
        except duckdb.Error as exc:
            if _damaged(exc):
                raise WarehouseCorruptError(self.path, str(exc).splitlines()[0]) from exc
            if "different configuration" in str(exc):
                raise WarehouseInUseError(
                    f"l'entrepôt {self.path} est déjà ouvert dans ce processus avec un autre "
                    "réglage d'accès aux fichiers : fermez-le d'abord (wh.close())"
                ) from exc
            raise
        if truncated:
            self._con.close()
            raise WarehouseCorruptError(self.path, "fichier tronqué")
        locked = self._con.execute("SELECT current_setting('lock_configuration')").fetchall()[0][0]
        if threads and not locked:
            self._con.execute(f"SET threads = {int(threads)}")
        if external_access:
            warnings.warn(EXTERNAL_ACCESS_WARNING, ExternalAccessWarning, stacklevel=2)
        elif not locked:
            self._con.execute("SET lock_configuration = true")

    @classmethod
    def over(cls, con: duckdb.DuckDBPyConnection) -> Warehouse:
        """A warehouse over an open connection: a build's scratch file, before it is swapped in
        (closing it is the caller's business)."""
        wh = cls.__new__(cls)
        wh.path, wh._con = None, con
        return wh

    def has_table(self, name: str) -> bool:
        """True when the warehouse has the table (built by a version that knows it)."""
        return bool(
            self._con.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE table_name = $name", dict(name=name)
            ).fetchall()[0][0]
        )

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._con.close()

    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The read-only DuckDB connection, for callers that need arrays rather than frames."""
        return self._con

    def sql(self, query: str, params: list | dict | None = None) -> pd.DataFrame:
        """Run a query (with ``?`` or ``$name`` parameters) and return a DataFrame.

        **Not secrecy-checked**: the rows as stored (``result.attrs["secrecy"]`` is ``False``);
        figures for publication come from :func:`observatory.table`.

        Examples
        --------
        >>> wh.sql("SELECT * FROM key_figures WHERE code = $code", dict(code="48"))
        """
        try:
            frame = self._con.execute(query, params).df()
        except duckdb.Error as exc:
            if _damaged(exc):
                raise WarehouseCorruptError(self.path, str(exc).splitlines()[0]) from exc
            if refused := _refused(exc):
                raise refused from exc
            raise
        frame.attrs = {"secrecy": False, "note": NOT_SECRECY_CHECKED}
        return frame

    def territories(
        self,
        level: str | None = None,
        *,
        region: str | None = None,
        departement: str | None = None,
        epci: str | None = None,
    ) -> pd.DataFrame:
        """Territories, optionally of one level and inside one région, département or EPCI."""
        from observatory import territories

        level = territories.level_name(level)
        return self.sql(
            """
            SELECT * FROM territories
            WHERE ($level IS NULL OR level = $level)
              AND ($region IS NULL OR region_code = $region)
              AND ($departement IS NULL OR departement_code = $departement)
              AND ($epci IS NULL OR epci_code = $epci)
            """,
            dict(level=level, region=region, departement=departement, epci=epci),
        )

    def key_figures(
        self,
        level: str | None = None,
        code: str | int | None = None,
        year: int | None = None,
        *,
        region: str | int | None = None,
    ) -> pd.DataFrame:
        """Rows of the ``key_figures`` view, filtered by level, territory, year and région.

        **Not secrecy-checked**: raw sums, for exploring; figures for publication come from
        :func:`observatory.table` (``result.attrs["secrecy"]`` is ``False`` here, and
        ``analysis.export`` refuses this frame for publication).

        Parameters
        ----------
        level : str, optional
            « région », ``"departement"``, ``"epci"``, ``"commune"``, ``"france"``.
        code : str or int, optional
            A territory as :func:`observatory.territories.parse` reads it (``48``, ``"2A"``,
            ``"region:76"``; a bare « 76 » is ambiguous without ``level``).
        year : int, optional
            A year of the warehouse (every year when omitted).
        region : str or int, optional
            Only the territories inside this région (``76``).

        Examples
        --------
        >>> wh.key_figures("département", region=76, year=2022)
        """
        from observatory import territories

        level = territories.level_name(level)
        if code is not None:
            found = territories.parse(self, code, level)
            level, code = found.level, found.code
        if region is not None:
            region = territories.parse(self, region, "region").code
        if year is not None:
            year = self._checked_year(year)
        frame = self.sql(
            """
            SELECT k.* FROM key_figures AS k
            JOIN territories AS t USING (level, code)
            WHERE ($level IS NULL OR k.level = $level)
              AND ($code IS NULL OR k.code = $code)
              AND ($year IS NULL OR k.year = $year)
              AND ($region IS NULL OR t.region_code = $region)
            ORDER BY k.level, k.code, k.year
            """,
            dict(level=level, code=code, year=year, region=region),
        )
        frame = frame.astype(
            {"year": "int64", "ess_establishments": "Int64", "ess_share_pct": "Float64"}
        )
        for column in ("ess_employees", "total_employees"):  # SIRENE estimates are not whole
            whole = frame[column].dropna().mod(1).eq(0).all()
            frame[column] = frame[column].astype("Int64" if whole else "Float64")
        frame.attrs = {"secrecy": False, "note": NOT_SECRECY_CHECKED}
        return frame

    def _checked_year(self, year) -> int:
        """``year`` as an int, or a French error naming the years the warehouse holds (a
        warehouse without any ESS facts, only published figures, takes any year: its view is
        empty, as indicators.resolve_year allows)."""
        years = self.years()
        try:
            wanted = int(year)
        except (TypeError, ValueError):
            raise ValueError(f"année « {year} » illisible : un nombre, comme 2022") from None
        if years and wanted not in years:
            raise ValueError(
                f"année « {year} » non disponible dans l'entrepôt ({years[0]} à {years[-1]})"
            )
        return wanted

    def sources(self) -> pd.DataFrame:
        """The ``sources`` table: every input of the build with its checksum and row counts,
        and ``notes``: what a load replaced, and the establishments that reach no figure for
        want of their unité légale."""
        sources = self.sql(
            "SELECT source, file, vintage, file_sha256, loaded_at, rows_read, rows_loaded, "
            "rows_rejected, synthetic FROM sources ORDER BY loaded_at, source"
        )
        sources["notes"] = sources["file"].map(self._notes()).fillna("")
        return sources

    def _notes(self) -> dict[str, str]:
        """File → its notes, French, separated by « ; »."""
        notes: dict[str, list[str]] = {}
        for file, item, value in self._con.execute(
            "SELECT file, item, value FROM load_stats WHERE item LIKE 'remplace %' ORDER BY ALL"
        ).fetchall():
            notes.setdefault(file, []).append(note_text(item, value))
        if self.has_table("sirene_files"):
            for file, count in self._con.execute(
                "SELECT file, without_legal_unit FROM sirene_files WHERE without_legal_unit > 0"
            ).fetchall():
                notes.setdefault(file, []).append(missing_units_note(count))
        return {file: " ; ".join(texts) for file, texts in notes.items()}

    def years(self) -> list[int]:
        """Available years, oldest first."""
        return [int(y) for y in self.sql("SELECT year FROM years ORDER BY year")["year"]]

    def is_demo(self) -> bool:
        """True when any loaded figure is synthetic (« Données de démonstration »)."""
        return bool(self.sql("SELECT bool_or(synthetic) AS demo FROM sources")["demo"].iloc[0])


def _establishments(count: int) -> str:
    return f"{formatting.number(count)} établissement{'s' if count > 1 else ''}"


def note_text(item: str, value: int) -> str:
    """A note of ``load_stats`` as the user reads it: « remplace le stock « 2024-01 »
    (4 324 établissements) »."""
    return f"{item} ({_establishments(value)})"


def missing_units_note(count: int) -> str:
    """What to do about establishments whose unité légale is unknown."""
    return (
        f"{_establishments(count)} sans unité légale connue : chargez StockUniteLegale du même "
        "millésime (sans elle, ils ne comptent dans aucun chiffre)"
    )


def open_warehouse(path: Path | str | None = None, *, external_access: bool = False) -> Warehouse:
    """Open the warehouse read-only (``$OBSERVATORY_DB`` or ``data/observatory.duckdb``), locked
    down; ``external_access=True`` lets an analyst's own session read files (with a warning).

    Opening the file with DuckDB directly, pass ``read_only=True``
    (``duckdb.connect(path, read_only=True)``): a plain ``duckdb.connect(path)`` opens it for
    writing and locks every other reader (dashboards, refresh, colleagues) out while it is open.

    Examples
    --------
    >>> wh = open_warehouse()
    >>> observatory.table(wh, "ess_employees", "departement", within="region:76")
    """
    return Warehouse(path, external_access=external_access)
