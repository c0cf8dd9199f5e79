"""Opening a raw file: kind, encoding, separator and header, whatever its quirks.

Every reader gets a :class:`RawFile` whose ``csv_path`` DuckDB can read as UTF-8: zip members
are extracted and Latin-1/cp1252 or BOM-prefixed files are transcoded into a temporary
folder first. Problems that make a whole file unusable raise :class:`IngestError`.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import shutil
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from observatory.errors import IngestError

if TYPE_CHECKING:
    import pandas as pd

SEPARATORS = (",", ";", "\t", "|")
SAMPLE_BYTES = 1 << 16
# A column declared after the header's: the values of a row longer than the header land in it.
EXTRA_COLUMN = "__observatory_extra"
# DuckDB's text for NULL, a byte no file holds: an empty value is read as '', so that only the
# values missing from a row shorter than the header are NULL.
NULL_TEXT = "\x01"
# The data file of an archive: a CSV file or, without any, a text file.
DATA_SUFFIXES = (".csv", ".txt")
# A folder of the drop zone ``<source>/<vintage>/``: its name starts with the year.
VINTAGE_FOLDER = re.compile(r"(19|20)\d{2}(?!\d)")


@dataclass(frozen=True)
class Staged:
    """A drop-zone file staged by the refresh (observatory.ingest.dropzone): its bytes are read
    from ``read_from``, a private link or copy, and it is named ``path`` wherever a user reads."""

    path: Path
    read_from: Path


@dataclass
class RawFile:
    """A raw file ready to read: kind (csv, excel, parquet), UTF-8 CSV path, header. ``path``
    names the file in messages and tables; its bytes are read at ``readable``."""

    path: Path
    kind: str
    csv_path: Path | None = None
    delimiter: str = ","
    encoding: str = "utf-8"
    header: list[str] = field(default_factory=list)
    first_rows: list[list[str]] = field(default_factory=list)
    parallel: bool = True  # DuckDB's parallel CSV scanner; off for quoted line breaks
    workdir: Path | None = None  # where transcoded copies go
    unterminated: bool = False  # the file does not end with a line break
    last_line_cut: str | None = None  # why its last line looks cut off, when it does
    staged: Path | None = None  # a staged drop-zone file: read here, never at ``path``

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def readable(self) -> Path:
        """Where the file's bytes are read."""
        return self.staged or self.path

    @property
    def recorded(self) -> str:
        """The path the warehouse records: absolute with links resolved; a staged file's
        drop-zone path as the refresh gives it (resolving it again would follow a link swapped
        into the zone since)."""
        return str(self.path if self.staged else self.path.resolve())

    def named(self, text: str) -> str:
        """A library's message about the file, naming it by ``path`` rather than by the staged
        or transcoded copy it read."""
        for copy in {self.staged, self.csv_path} - {None, self.path}:
            text = text.replace(str(copy), str(self.path))
        return text

    def read_csv_sql(self) -> str:
        """A DuckDB ``read_csv`` call reading every column as text: '' for an empty value, NULL
        for a value missing from a short row; the values of a long row beyond the header's
        columns go to ``EXTRA_COLUMN`` (see :meth:`shape_sql`)."""
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
            f"nullstr = '{NULL_TEXT}', parallel = {str(self.parallel).lower()}, "
            "auto_detect = false, columns = " + _columns_struct([*self.header, EXTRA_COLUMN]) + ")"
        )

    def shape_sql(self) -> str:
        """SQL over :meth:`read_csv_sql`'s columns: the problem of a row with fewer or more
        values than the header (a struct ``col``, ``val``, ``why``), NULL for a whole row."""
        last = self.header[-1]
        count = len(self.header)
        return (
            f"CASE WHEN {_identifier(last)} IS NULL THEN struct_pack(col := {_text(last)}, "
            "val := NULL::VARCHAR, why := 'ligne incomplète : moins de valeurs que les "
            f"{count} colonnes de l''en-tête (ligne ou fichier coupé ?)') "
            f"WHEN {_identifier(EXTRA_COLUMN)} <> '' THEN struct_pack("
            f"col := 'au-delà de la colonne {count}', val := {_identifier(EXTRA_COLUMN)}, "
            f"why := 'ligne trop longue : plus de valeurs que les {count} colonnes de "
            "l''en-tête (séparateur dans une valeur sans guillemets ?)') END"
        )


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _columns_struct(header: list[str]) -> str:
    names = ", ".join("'" + name.replace("'", "''") + "': 'VARCHAR'" for name in header)
    return "{" + names + "}"


def column_letter(index: int) -> str:
    """The Excel letter of a column (0 → A, 26 → AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def vintage_folder(path: Path) -> str | None:
    """The drop zone's vintage folder holding ``path`` (``sirene/2024-03/`` → ``2024-03``): the
    file's own folder, when its name starts with the year; None otherwise."""
    folder = path.parent.name
    return folder if VINTAGE_FOLDER.match(folder) else None


def vintage_order(folder: str) -> tuple:
    """Sort key of vintage folders, oldest first: their numbers as numbers (``2024-9`` before
    ``2024-10``), then their name."""
    return tuple(int(n) for n in re.findall(r"\d+", folder)), folder


def open_raw(path: Path | Staged, workdir: Path) -> RawFile:
    """Inspect ``path`` (a file, or a staged drop-zone file) and prepare it for reading;
    ``workdir`` holds temporary copies."""
    if isinstance(path, Staged):
        raw = _inspect(path.path, path.read_from, workdir)
        raw.staged = path.read_from
        return raw
    return _inspect(path, path, workdir)


def _inspect(path: Path, data: Path, workdir: Path) -> RawFile:
    """The file named ``path``, whose bytes are at ``data``."""
    if not data.is_file():
        raise IngestError(f"{path} : fichier introuvable")
    if data.stat().st_size == 0:
        raise IngestError(f"{path.name} : fichier vide")
    with data.open("rb") as handle:
        head = handle.read(8)
    if head.startswith(b"PAR1"):
        return RawFile(path, "parquet")
    if head.startswith(b"\xd0\xcf\x11\xe0") or path.suffix.lower() in {".xls", ".xlsx"}:
        return RawFile(path, "excel")
    if head.startswith(b"PK"):
        return _open_zip(path, data, workdir)
    return _open_csv(path, data, workdir)


def read_workbook(raw: RawFile) -> dict[str, list[list]]:
    """Every sheet of an Excel workbook (xls or xlsx) as rows of cell values, None when empty.

    An error cell keeps its error (``#DIV/0!``, ``#N/A``…) and a formula the workbook never
    computed keeps its formula (``=B2/C2``): the readers reject them with the reason, where
    pandas would have read an empty cell. A damaged workbook, or a file that is not one, raises
    :class:`IngestError`.
    """
    with raw.readable.open("rb") as handle:
        xls = handle.read(4) == b"\xd0\xcf\x11\xe0"
    try:
        book = _xls_sheets(raw.readable) if xls else _xlsx_sheets(raw.readable)
    except Exception as exc:  # xlrd and openpyxl raise many kinds of errors on a bad workbook
        detail = raw.named(str(exc).splitlines()[0]) if str(exc) else "fichier endommagé"
        raise IngestError(
            f"{raw.name} : classeur Excel illisible ({type(exc).__name__} : {detail})"
        ) from exc
    if not book:
        raise IngestError(f"{raw.name} : classeur Excel sans feuille")
    return book


def workbook_table(raw: RawFile) -> pd.DataFrame:
    """The first sheet of a workbook as text columns named by its first row, with the ``line``
    of each row in the sheet (empty rows left out, empty cells as '')."""
    import pandas as pd  # here only: CSV and Parquet files are read without it

    rows = next(iter(read_workbook(raw).values()))
    width = max((len(row) for row in rows), default=0)
    cells = [[_cell_text(value) for value in row] + [""] * (width - len(row)) for row in rows]
    header = [name.strip() or f"colonne {n}" for n, name in enumerate(cells[0] if cells else [], 1)]
    lines = [(number, row) for number, row in enumerate(cells[1:], start=2) if any(row)]
    frame = pd.DataFrame([row for _, row in lines], columns=header, dtype=object)
    frame.insert(0, "line", [number for number, _ in lines])
    return frame


def _cell_text(value) -> str:
    """A cell as text, as a user typed it: integers without ``.0``, empty as ''."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _xls_sheets(path: Path) -> dict[str, list[list]]:
    import xlrd

    # xlrd logs its warnings to standard output unless given a log file.
    book = xlrd.open_workbook(str(path), logfile=io.StringIO())
    sheets = {}
    for sheet in book.sheets():
        rows = []
        for r in range(sheet.nrows):
            row = []
            for cell in sheet.row(r):
                if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
                    row.append(None)
                elif cell.ctype == xlrd.XL_CELL_ERROR:
                    row.append(xlrd.error_text_from_code.get(cell.value, "#ERREUR"))
                elif cell.ctype == xlrd.XL_CELL_DATE:
                    row.append(xlrd.xldate.xldate_as_datetime(cell.value, book.datemode))
                elif cell.ctype == xlrd.XL_CELL_BOOLEAN:
                    row.append(bool(cell.value))
                else:
                    row.append(cell.value)
            rows.append(row)
        sheets[sheet.name] = rows
    return sheets


def _xlsx_sheets(path: Path) -> dict[str, list[list]]:
    """Formulas are read first; only a workbook holding some is read again for their values."""
    import openpyxl

    formulas = _openpyxl_rows(openpyxl.load_workbook(path, read_only=True, keep_links=False))
    computed = any(
        isinstance(value, _Formula) for rows in formulas.values() for row in rows for value in row
    )
    if not computed:
        return formulas
    values = _openpyxl_rows(
        openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)
    )
    for name, rows in formulas.items():
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if isinstance(value, _Formula):
                    cached = values[name][r][c]
                    row[c] = str(value) if cached is None else cached
    return formulas


class _Formula(str):
    """A formula cell, whose value is read from the workbook's computed values."""


def _openpyxl_rows(book) -> dict[str, list[list]]:
    sheets = {}
    try:
        for sheet in book.worksheets:
            sheet.reset_dimensions()  # the declared dimensions of a sheet may be wrong
            rows = []
            for row in sheet.iter_rows():
                values = []
                for cell in row:
                    value = cell.value
                    if cell.data_type == "f" and value is not None:
                        text = str(getattr(value, "text", value))  # array formulas: their text
                        value = _Formula(text if text.startswith("=") else f"={text}")
                    elif isinstance(value, str) and cell.data_type == "e":
                        value = value.strip()
                    values.append(value)
                rows.append(values)
            sheets[sheet.title] = rows
    finally:
        book.close()
    return sheets


def _open_zip(path: Path, data: Path, workdir: Path) -> RawFile:
    try:
        archive = zipfile.ZipFile(data)
    except zipfile.BadZipFile as exc:
        raise IngestError(f"{path.name} : archive zip illisible ({exc})") from exc
    with archive:
        names = archive.namelist()
        if any(m.startswith("xl/") for m in names) and not any(
            m.lower().endswith(DATA_SUFFIXES) for m in names
        ):
            return RawFile(path, "excel")  # an .xlsx workbook is a zip archive
        members = _data_members(path, names)
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


def _data_members(path: Path, names: list[str]) -> list[str]:
    """The one data file of an archive: its CSV file or, without any, its one text file; a
    notice beside it (``LISEZMOI.txt``), folders and system files are ignored."""
    kept = [
        m
        for m in names
        if not m.endswith("/")
        and not m.startswith("__MACOSX/")
        and not Path(m).name.startswith(".")
    ]
    csvs = [m for m in kept if m.lower().endswith(".csv")]
    members = csvs or [m for m in kept if m.lower().endswith(".txt")]
    if len(members) != 1:
        shown = ", ".join(members) if members else "aucun"
        raise IngestError(
            f"{path.name} : l'archive doit contenir un seul fichier de données CSV "
            f"({len(members)} trouvés : {shown})"
        )
    return members


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
    raw = RawFile(
        original, "csv", csv_path, delimiter, encoding, header, first_rows, workdir=workdir
    )
    raw.unterminated, raw.last_line_cut = _last_line(path, delimiter, len(header))
    return raw


def _last_line(path: Path, delimiter: str, columns: int) -> tuple[bool, str | None]:
    """(the file does not end with a line break, why its last line looks cut off). A file cut
    short usually ends inside a line: without a line break, the last line is taken as cut when
    a quote is left open, values are missing or the last value is empty. Reads the end only."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        handle.seek(max(0, size - SAMPLE_BYTES))
        tail = handle.read()
    if not tail or tail.endswith((b"\n", b"\r")):
        return False, None
    line = tail.rsplit(b"\n", 1)[-1].decode("latin-1")  # separators and quotes are ASCII
    if line.count('"') % 2:
        return True, "dernière ligne coupée : guillemet ouvert et jamais fermé, pas de fin de ligne"
    values = next(csv.reader([line], delimiter=delimiter), [])
    if len(values) < columns:
        return True, (
            f"dernière ligne coupée : {len(values)} valeurs sur {columns}, pas de fin de ligne"
        )
    if not values[-1].strip():
        return True, (
            "dernière ligne coupée : dernière valeur vide et pas de fin de ligne (fichier "
            "tronqué ?)"
        )
    return True, None


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
