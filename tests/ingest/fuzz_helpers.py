"""Hostile files for the readers: seeds cut from the real public files and the templates, and
hypothesis strategies that mutate them, re-encode them or replace them with random bytes."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pandas as pd
from hypothesis import strategies as st

from observatory import settings

SOURCES = [None, "sirene", "insee", "urssaf", "essfrance", "cress", "structures", "plan"]
SUFFIXES = [".csv", ".txt", ".zip", ".xls", ".xlsx", ".parquet", ""]
# Encodings the readers accept (first three) and others a user's tool may produce.
ENCODINGS = [
    "utf-8",
    "utf-8-sig",
    "cp1252",
    "latin-1",
    "utf-16",
    "utf-16-le",
    "utf-32",
    "mac_roman",
    "cp850",
    "iso8859-15",
    "shift_jis",
]
HOSTILE_VALUES = [
    b'"',
    b'""',
    b'"a\nb"',
    b"\x00",
    b"\xff\xfe",
    b"x" * 5000,
    b"-1",
    b"1e308",
    b"NaN",
    b"inf",
    b"9" * 40,
    b"'; DROP TABLE sources; --",
    b"\r",
    b"\t",
    b"s",
    b"  ",
    b"\xe9t\xe9",
    "été".encode(),
    b"2A",
    b"=1+1",
    b"{}",
    b"\xc3",
    b"\xef\xbb\xbf",
]
URSSAF = (
    "region;champ_ess;famille_ess;secteur_na88;annee;code_region;nombre_d_etablissements;"
    "effectifs_salaries_moyens;masse_salariale\n"
    "Occitanie;ESS;Associations;88 Action sociale sans hébergement;2022;76;"
    "1 200;15 000,5;400 000 000\n"
    "Occitanie;ESS;Coopératives;88 Action sociale sans hébergement;2022;76;10;100;3 000 000\n"
    "Occitanie;ESS;Total;88 Action sociale sans hébergement;2022;76;"
    "1 210;15 100,5;403 000 000\n"
    "Occitanie;Hors ESS;;88;2022;76;800;9 000;250 000 000\n"
)


def _head(path: Path, lines: int) -> bytes:
    return b"".join(path.read_bytes().splitlines(keepends=True)[:lines])


def seed_files(real: Path) -> dict[str, tuple[bytes, str]]:
    """Name → (content, suffix) of every kind of file a reader takes, real where one exists."""
    sirene, templates = real / "sirene", settings.DATA_DIR / "templates"
    establishments = _head(sirene / "StockEtablissement_extract_2021-11_part1.csv", 150)
    units = _head(sirene / "StockUniteLegale_ess_numerique_extract.csv", 150)
    sirens = [row[0] for row in csv.reader(io.StringIO(units.decode()))][1:60]
    seeds = {
        "etablissements": (establishments, ".csv"),
        "unites_legales": (units, ".csv"),
        "unites_legales_2019": (
            (sirene / "StockUniteLegale_v3_2019_sample.csv").read_bytes(),
            ".csv",
        ),
        "itdd": ((real / "insee" / "ITDD-DonneesDetaillees.xls").read_bytes(), ".xls"),
        "urssaf": (URSSAF.encode(), ".csv"),
        "essfrance": (("siren\n" + "\n".join(sirens) + "\n").encode(), ".csv"),
    }
    for name in (
        "cress_modele",
        "structures_modele",
        "plan_axes",
        "plan_actions",
        "plan_indicateurs",
        "plan_evenements",
    ):
        seeds[name] = ((templates / f"{name}.csv").read_bytes(), ".csv")
    parquet, workbook = io.BytesIO(), io.BytesIO()
    pd.read_csv(io.BytesIO(establishments), dtype=str).to_parquet(parquet)
    pd.read_csv(templates / "cress_modele.csv", sep=";", dtype=str).to_excel(workbook, index=False)
    seeds["etablissements_parquet"] = (parquet.getvalue(), ".parquet")
    seeds["cress_xlsx"] = (workbook.getvalue(), ".xlsx")
    return seeds


def _cells(line: bytes) -> tuple[bytes, list[bytes]]:
    separator = max((b",", b";", b"\t"), key=line.count)
    return separator, line.split(separator)


@st.composite
def mutated(draw, seeds: dict[str, tuple[bytes, str]]):
    """(content, suffix) of a seed after one to three mutations: bytes flipped, inserted,
    deleted, truncated; lines doubled; cells dropped or replaced by hostile values; re-encoded,
    separator changed, CRLF, BOM, zipped."""
    name = draw(st.sampled_from(sorted(seeds)))
    data, suffix = seeds[name]
    data = bytearray(data)
    for operation in draw(
        st.lists(
            st.sampled_from(
                [
                    "flip",
                    "insert",
                    "delete",
                    "truncate",
                    "double",
                    "drop",
                    "hostile",
                    "encode",
                    "separator",
                    "crlf",
                    "bom",
                    "zip",
                ]
            ),
            min_size=1,
            max_size=3,
        )
    ):
        if not data:
            break
        if operation == "flip":
            for _ in range(draw(st.integers(1, 20))):
                data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        elif operation == "insert":
            at = draw(st.integers(0, len(data)))
            data[at:at] = draw(st.binary(min_size=1, max_size=50))
        elif operation == "delete":
            at = draw(st.integers(0, len(data) - 1))
            del data[at : at + draw(st.integers(1, 200))]
        elif operation == "truncate":
            del data[draw(st.integers(0, len(data))) :]
        elif operation in ("double", "drop", "hostile"):
            lines = bytes(data).split(b"\n")
            at = draw(st.integers(0, len(lines) - 1))
            separator, cells = _cells(lines[at])
            if operation == "double":
                lines.insert(at, lines[at])
            elif operation == "drop":
                del cells[draw(st.integers(0, len(cells) - 1))]
                lines[at] = separator.join(cells)
            else:
                cells[draw(st.integers(0, len(cells) - 1))] = draw(st.sampled_from(HOSTILE_VALUES))
                lines[at] = separator.join(cells)
            data = bytearray(b"\n".join(lines))
        elif operation == "encode":
            data = bytearray(encoded(bytes(data), draw(st.sampled_from(ENCODINGS))))
        elif operation == "separator":
            old = b"," if b"," in data else b";"
            new = draw(st.sampled_from([b"\t", b"|", b";", b",", b"\xa3"]))
            data = bytearray(bytes(data).replace(old, new))
        elif operation == "crlf":
            data = bytearray(bytes(data).replace(b"\n", b"\r\n"))
        elif operation == "bom":
            data[0:0] = b"\xef\xbb\xbf"
        else:
            data = bytearray(
                zipped(
                    bytes(data),
                    draw(st.sampled_from(["a.csv", "a.txt", "dossier/a.csv", "../a.csv", "a.bin"])),
                )
            )
    return bytes(data), draw(st.sampled_from([suffix, suffix, suffix, *SUFFIXES]))


def encoded(data: bytes, encoding: str) -> bytes:
    """``data`` (UTF-8) re-encoded, unencodable characters replaced."""
    return data.decode("utf-8", "replace").encode(encoding, "replace")


def zipped(data: bytes, member: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(member, data)
    return buffer.getvalue()
