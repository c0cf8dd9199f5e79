"""Opening a raw file: kind, encoding, separator and header, whatever its quirks.

Every reader gets a :class:`RawFile` whose ``csv_path`` DuckDB can read as UTF-8: zip members
are extracted and Latin-1/cp1252 or BOM-prefixed files are transcoded into a temporary
folder first. Problems that make a whole file unusable raise :class:`IngestError`.
"""

from __future__ import annotations

import codecs
import csv
import io
import shutil
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from observatory.build import BuildError

if TYPE_CHECKING:
    import pandas as pd

SEPARATORS = (",", ";", "\t", "|")
SAMPLE_BYTES = 1 << 16


class IngestError(BuildError):
    """A file that cannot be loaded; nothing of it is loaded and the warehouse is unchanged."""


@dataclass
class RawFile:
    """A raw file ready to read: kind (csv, excel, parquet), UTF-8 CSV path, header."""

    path: Path
    kind: str
    csv_path: Path | None = None
    delimiter: str = ","
    encoding: str = "utf-8"
    header: list[str] = field(default_factory=list)
    first_rows: list[list[str]] = field(default_factory=list)
    parallel: bool = True  # DuckDB's parallel CSV scanner; off for quoted line breaks
    workdir: Path | None = None  # where transcoded copies go

    @property
    def name(self) -> str:
        return self.path.name

    def read_csv_sql(self) -> str:
        """A DuckDB ``read_csv`` call reading every column as text."""
        seen: dict[str, int] = {}
        for number, column in enumerate(self.header, start=1):
            if column.lower() in seen:  # DuckDB column names ignore case
                raise IngestError(
                    f"{self.name}, ligne 1 : colonne « {column} » en double dans "
                    f"l'en-tête (colonnes {seen[column.lower()]} et {number})"
                )
            seen[column.lower()] = number
        path = str(self.csv_path).replace("'", "''")
        delim = self.delimiter.replace("'", "''")
        return (
            f"read_csv('{path}', header = true, all_varchar = true, delim = '{delim}', "
            "quote = '\"', escape = '\"', null_padding = true, strict_mode = false, "
            f"parallel = {str(self.parallel).lower()}, auto_detect = false, "
            "columns = " + _columns_struct(self.header) + ")"
        )


def _columns_struct(header: list[str]) -> str:
    names = ", ".join("'" + name.replace("'", "''") + "': 'VARCHAR'" for name in header)
    return "{" + names + "}"


def open_raw(path: Path, workdir: Path) -> RawFile:
    """Inspect ``path`` and prepare it for reading; ``workdir`` holds temporary copies."""
    if not path.is_file():
        raise IngestError(f"{path} : fichier introuvable")
    if path.stat().st_size == 0:
        raise IngestError(f"{path.name} : fichier vide")
    with path.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(b"PAR1"):
        return RawFile(path, "parquet")
    if head.startswith(b"\xd0\xcf\x11\xe0") or path.suffix.lower() in {".xls", ".xlsx"}:
        return RawFile(path, "excel")
    if head.startswith(b"PK"):
        return _open_zip(path, workdir)
    return _open_csv(path, path, workdir)


def read_workbook(raw: RawFile, **options) -> dict[str, pd.DataFrame]:
    """Every sheet of an Excel workbook (``pandas.read_excel`` options); a damaged workbook, or
    a file that is not one, raises :class:`IngestError`."""
    import pandas as pd  # here only: CSV and Parquet files are read without it

    with raw.path.open("rb") as handle:
        xls = handle.read(4) == b"\xd0\xcf\x11\xe0"
    try:  # xlrd (xls) logs its warnings to standard output unless given a log file
        book = pd.read_excel(
            raw.path,
            sheet_name=None,
            engine="xlrd" if xls else "openpyxl",
            engine_kwargs={"logfile": io.StringIO()} if xls else None,
            **options,
        )
    except Exception as exc:  # xlrd and openpyxl raise many kinds of errors on a bad workbook
        detail = str(exc).splitlines()[0] if str(exc) else "fichier endommagé"
        raise IngestError(
            f"{raw.name} : classeur Excel illisible ({type(exc).__name__} : {detail})"
        ) from exc
    if not book:
        raise IngestError(f"{raw.name} : classeur Excel sans feuille")
    return book


def _open_zip(path: Path, workdir: Path) -> RawFile:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise IngestError(f"{path.name} : archive zip illisible ({exc})") from exc
    with archive:
        members = [m for m in archive.namelist() if m.lower().endswith((".csv", ".txt"))]
        if not members and any(m.startswith("xl/") for m in archive.namelist()):
            return RawFile(path, "excel")  # an .xlsx workbook is a zip archive
        if len(members) != 1:
            raise IngestError(
                f"{path.name} : l'archive doit contenir un seul fichier CSV "
                f"({len(members)} trouvés)"
            )
        target = workdir / Path(members[0]).name
        try:
            with archive.open(members[0]) as source, target.open("wb") as out:
                shutil.copyfileobj(source, out, 1 << 22)
        except (
            zipfile.BadZipFile,
            zlib.error,
            EOFError,
            NotImplementedError,
            RuntimeError,
            ValueError,
            OSError,
        ) as exc:  # damaged, encrypted or unsupported member
            raise IngestError(
                f"{path.name} : archive zip illisible, {members[0]} ne peut être extrait ({exc})"
            ) from exc
    return _open_csv(path, target, workdir)


def _open_csv(original: Path, path: Path, workdir: Path) -> RawFile:
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    if b"\x00" in sample:
        raise IngestError(
            f"{original.name} : fichier binaire non reconnu (ni CSV, ni Excel, ni Parquet, ni zip)"
        )
    encoding = _encoding(sample)
    csv_path = path
    if encoding != "utf-8":
        csv_path = workdir / f"{path.stem}.utf8.csv"
        _transcode(path, csv_path, encoding, original)
    text = sample.decode("utf-8-sig" if encoding == "utf-8-sig" else encoding, errors="ignore")
    if encoding == "utf-8":
        text = codecs.getincrementaldecoder("utf-8")(errors="ignore").decode(sample)
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise IngestError(f"{original.name} : fichier vide (pas de ligne d'en-tête)")
    delimiter = max(SEPARATORS, key=lines[0].count)
    first_rows = list(csv.reader(io.StringIO("\n".join(lines[:20])), delimiter=delimiter))
    # A trailing separator leaves a column without a name: name it by its position.
    header = [name.strip() or f"colonne {number}" for number, name in enumerate(first_rows[0], 1)]
    return RawFile(
        original, "csv", csv_path, delimiter, encoding, header, first_rows, workdir=workdir
    )


def transcode_late_latin1(raw: RawFile, line: int) -> None:
    """A file taken for UTF-8 from its first 64 KiB has other bytes at ``line``: without any
    accented UTF-8 line it is a Latin-1/cp1252 file, transcoded now; otherwise the encodings
    are mixed."""
    with raw.csv_path.open("rb") as handle:
        for number, text in enumerate(handle, start=1):
            if text.isascii():
                continue
            try:
                text.decode("utf-8")
            except UnicodeDecodeError:
                continue
            raise IngestError(
                f"{raw.name}, ligne {line} : octets qui ne sont pas de l'UTF-8 alors que la "
                f"ligne {number} est en UTF-8 (encodages mélangés) ; enregistrez le fichier "
                "entièrement en UTF-8"
            )
    target = raw.workdir / f"{raw.csv_path.stem}.utf8.csv"
    _transcode(raw.csv_path, target, "cp1252", raw.path)
    raw.csv_path, raw.encoding = target, "cp1252"


def _encoding(sample: bytes) -> str:
    """``utf-8``, ``utf-8-sig`` (with BOM) or ``cp1252`` (Latin-1 family)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1252"


def _transcode(source: Path, target: Path, encoding: str, original: Path) -> None:
    """Rewrite ``source`` as UTF-8 without BOM (cp1252 falls back to Latin-1 byte by byte)."""
    errors = "strict" if encoding == "utf-8-sig" else "latin1_fallback"
    try:
        with (
            source.open("r", encoding=encoding, errors=errors, newline="") as src,
            target.open("w", encoding="utf-8", newline="") as out,
        ):
            shutil.copyfileobj(src, out, 1 << 22)
    except UnicodeDecodeError as exc:  # a BOM announces UTF-8, the bytes are not
        raise IngestError(
            f"{original.name}, ligne {_first_bad_line(source)} : le fichier commence "
            "par la marque UTF-8 (BOM) mais contient des octets qui ne sont pas de "
            f"l'UTF-8 ({exc.reason}) ; enregistrez-le entièrement en UTF-8"
        ) from exc


def _first_bad_line(path: Path) -> int:
    """Number of the first line that is not valid UTF-8."""
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 1


def _latin1_fallback(error: UnicodeDecodeError) -> tuple[str, int]:
    """Bytes undefined in cp1252 (0x81, 0x8D…) decode as Latin-1."""
    return error.object[error.start : error.end].decode("latin-1"), error.end


codecs.register_error("latin1_fallback", _latin1_fallback)
