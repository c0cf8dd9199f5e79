"""The observatory's errors: one family, each message a French sentence for the user.

Every error the observatory raises on purpose is an ``ObservatoryError``, so a caller (the
command line, a notebook, the refresh) catches them all in one clause and shows ``str(exc)`` as
it is. Each class also keeps the built-in base that says what kind of failure it is
(``ValueError`` for bad input, ``FileNotFoundError`` for a missing warehouse…), so code that
catches those still works. The modules that raise them re-export them where users met them
first (``observatory.territories.TerritoryError`` is this module's class).
"""

from __future__ import annotations

from pathlib import Path

import duckdb


class ObservatoryError(Exception):
    """Any error the observatory raises on purpose; ``str(exc)`` is a French sentence."""


# Input: territories, years, files a user names.
class TerritoryError(ObservatoryError, ValueError):
    """An unknown, ambiguous or badly written territory or level."""


class YearError(ObservatoryError, ValueError):
    """A year the warehouse does not hold."""


class OutputFormatError(ObservatoryError, ValueError):
    """An output file whose extension is not json, csv or xlsx."""


class RawTableError(ObservatoryError, ValueError):
    """A raw view (not secrecy-checked) handed to an export meant for publication."""


# The warehouse.
class WarehouseMissingError(ObservatoryError, FileNotFoundError):
    """No warehouse file at the configured path."""


class WarehouseCorruptError(WarehouseMissingError):
    """A warehouse file that cannot be read: truncated, overwritten, or not a DuckDB file."""

    def __init__(self, path: Path, detail: str):
        super().__init__(
            f"l'entrepôt {path} est endommagé ou illisible ({detail}) : reconstruisez-le avec "
            "`observatory build` (données réelles : `observatory build --no-demo`, puis "
            "`observatory ingest` des fichiers bruts)"
        )


class WarehouseAccessError(ObservatoryError, duckdb.PermissionException):
    """A query that reached for a file, the network, an extension or the configuration of a
    locked-down warehouse (a ``duckdb.Error``, so every caller that handles DuckDB's errors
    handles it)."""


class WarehouseInUseError(ObservatoryError, duckdb.ConnectionException):
    """The same file already open in this process with the other external access setting."""


class BuildError(ObservatoryError, RuntimeError):
    """A build that could not complete; the previous warehouse is untouched."""


class IngestError(BuildError):
    """A file that cannot be loaded; nothing of it is loaded and the warehouse is unchanged."""


# Publication.
class SiteError(ObservatoryError, RuntimeError):
    """A portrait that could not be rendered (territory and reason in the message)."""


class NoteError(ObservatoryError, RuntimeError):
    """A note that could not be printed (file and reason in the message)."""


class DownloadError(ObservatoryError, RuntimeError):
    """A download that cannot go on: one sentence naming the file and the reason."""


class RefreshError(ObservatoryError, RuntimeError):
    """A refresh that stopped: ``step`` says where; the previous warehouse and site stay."""

    def __init__(self, step: str, message: str):
        super().__init__(message)
        self.step = step


class RefreshLocked(ObservatoryError, RuntimeError):
    """Another refresh holds the lock."""


# Warnings: work that goes on, with a sentence the user must read.
class ObservatoryWarning(UserWarning):
    """Any warning the observatory gives; ``str(warning)`` is a French sentence."""


class SecrecyWarning(ObservatoryWarning):
    """Figures produced or written without statistical secrecy (for internal work only)."""


class ExternalAccessWarning(ObservatoryWarning):
    """A warehouse opened with access to files and the network (for the analyst's work only)."""
