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
from dataclasses import dataclass, field
from pathlib import Path

from observatory.build import BuildError

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

    @property
    def name(self) -> str:
        return self.path.name

    def read_csv_sql(self) -> str:
        """A DuckDB ``read_csv`` call reading every column as text."""
        path = str(self.csv_path).replace("'", "''")
        delim = self.delimiter.replace("'", "''")
        return (f"read_csv('{path}', header = true, all_varchar = true, delim = '{delim}', "
                "quote = '\"', escape = '\"', null_padding = true, strict_mode = false, "
                "auto_detect = false, columns = " + _columns_struct(self.header) + ")")


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
            raise IngestError(f"{path.name} : l'archive doit contenir un seul fichier CSV "
                              f"({len(members)} trouvés)")
        target = workdir / Path(members[0]).name
        with archive.open(members[0]) as source, target.open("wb") as out:
            shutil.copyfileobj(source, out, 1 << 22)
    return _open_csv(path, target, workdir)


def _open_csv(original: Path, path: Path, workdir: Path) -> RawFile:
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    if b"\x00" in sample:
        raise IngestError(f"{original.name} : fichier binaire non reconnu (ni CSV, ni Excel, "
                          "ni Parquet, ni zip)")
    encoding = _encoding(sample)
    csv_path = path
    if encoding != "utf-8":
        csv_path = workdir / f"{path.stem}.utf8.csv"
        _transcode(path, csv_path, encoding)
    text = sample.decode("utf-8-sig" if encoding == "utf-8-sig" else encoding, errors="ignore")
    if encoding == "utf-8":
        text = codecs.getincrementaldecoder("utf-8")(errors="ignore").decode(sample)
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise IngestError(f"{original.name} : fichier vide (pas de ligne d'en-tête)")
    delimiter = max(SEPARATORS, key=lines[0].count)
    first_rows = list(csv.reader(io.StringIO("\n".join(lines[:20])), delimiter=delimiter))
    header = [name.strip() for name in first_rows[0]]
    return RawFile(original, "csv", csv_path, delimiter, encoding, header, first_rows)


def _encoding(sample: bytes) -> str:
    """``utf-8``, ``utf-8-sig`` (with BOM) or ``cp1252`` (Latin-1 family)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1252"


def _transcode(source: Path, target: Path, encoding: str) -> None:
    """Rewrite ``source`` as UTF-8 without BOM (cp1252 falls back to Latin-1 byte by byte)."""
    errors = "strict" if encoding == "utf-8-sig" else "latin1_fallback"
    with source.open("r", encoding=encoding, errors=errors, newline="") as src, \
            target.open("w", encoding="utf-8", newline="") as out:
        shutil.copyfileobj(src, out, 1 << 22)


def _latin1_fallback(error: UnicodeDecodeError) -> tuple[str, int]:
    """Bytes undefined in cp1252 (0x81, 0x8D…) decode as Latin-1."""
    return error.object[error.start:error.end].decode("latin-1"), error.end


codecs.register_error("latin1_fallback", _latin1_fallback)
