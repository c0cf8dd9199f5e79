"""Secrecy audit of a published site: no masked cell may be read, directly or by subtraction.

The audit reads only what was published (each portrait's CSV table, handed in as read by
:func:`observatory.publish.portrait.read_published`, its HTML page, its printable note's page and
the note's PDF) and the warehouse's unmasked values, and checks, independently of the rules that
masked them (:mod:`.rules`, :mod:`.cells`, :mod:`.masks`):

1. **direct**: a cell the table marks secret shows « s » and no value; no published count of
   establishments is 1 or 2 (the primary rule); a masked count hides the ratios built on it;
2. **charts and tables**: no chart point or table row labelled like a masked cell carries its
   true value, in the pages or in the rows of the PDF's tables (its text laid out as printed);
3. **subtraction**: solving every additive relation of the published figures (a total and its
   families, size classes, sectors or activity domains; a domain and its divisions; a région
   and its départements; France and « France de province » with Île-de-France) never yields a
   masked cell.

The CRESS's figures shown in the block « Les chiffres publiés » are checked the same way (no
count of 1 or 2 establishments, no other measure of such a cell, no share beside masked posts,
no total minus its parts present on the page); INSEE's and Urssaf's were protected by their
publishers and are only checked to show « s » where they are secret.
"""

from __future__ import annotations

import html
import json
import logging
import math
import os
import re
import warnings
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import pandas as pd

from observatory import domains, formatting, indicators, reference, secrecy
from observatory import published as published_module
from observatory.families import FAMILY_CODES
from observatory.warehouse import open_warehouse

MEASURES = ("establishments", "employees", "fte", "gross_wages")
# Ratios built on a count: masked with it, or the count comes back by multiplication.
DERIVED = {
    "family_employees": ["family_share_employees"],
    "size_establishments": ["size_share_establishments"],
    "sector_employees": [
        "sector_ess_share",
        "sector_specialisation_france",
        "sector_specialisation_region",
    ],
    "cress_employees": [published_module.CRESS_SHARE],
    "domain_employees": ["domain_share_employees"],
    "ess_fte": ["ess_average_wage_fte"],
    "ess_gross_wages": ["ess_average_wage_fte"],
    "compared_ess_employees": [
        "compared_ess_share_employees",
        "compared_ess_share_private_employees",
    ],
    "compared_ess_fte": ["compared_average_wage_fte"],
    "compared_ess_gross_wages": ["compared_average_wage_fte"],
}
KEY = ["page", "indicateur", "categorie", "annee"]  # a published cell
PLOTLY_CALL = re.compile(r'Plotly\.newPlot\(\s*"[^"]*",\s*(\[.*?\]),\s*\{', re.S)
TABLE_ROW = re.compile(r"<tr><th scope='row'>(.*?)</th>(.*?)</tr>", re.S)
CELL = re.compile(r"<td[^>]*>(.*?)</td>", re.S)
SPACES = re.compile(r"[\s\u202f\u00a0]+")
BREAK = re.compile(r"\s*<br>\s*")


@dataclass
class Findings:
    """Masked cells checked and problems found (each a sentence naming page and cell)."""

    checked: int = 0
    problems: list[str] = field(default_factory=list)


def audit_site(
    db_path: Path, site_dir: Path, published: pd.DataFrame, workers: int | None = None
) -> Findings:
    """Audit every published page of ``site_dir`` against the warehouse at ``db_path``:
    ``published`` holds the cells of its portrait tables, one row per cell, every value as
    text, with its ``page`` (:func:`observatory.publish.portrait.read_published`); the pages
    are checked against the warehouse in ``workers`` processes (one per core)."""
    findings = Findings()
    if published.empty:
        return findings
    findings.checked = int((published["secret"] == "True").sum())
    _direct(published, findings)
    _subtraction(published, findings)
    pages = sorted(published["page"].unique())
    workers = max(1, min(workers or os.cpu_count() or 1, len(pages)))
    if workers == 1:  # one page (a refresh --only, a test): no process to start and import
        result = _audit_pages(db_path, site_dir, published)
        findings.checked += result.checked
        findings.problems += result.problems
        return findings
    chunks = [pages[i::workers] for i in range(workers)]
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        for result in pool.map(
            _audit_pages,
            [db_path] * workers,
            [site_dir] * workers,
            [published[published["page"].isin(c)] for c in chunks],
        ):
            findings.checked += result.checked
            findings.problems += result.problems
    return findings


def _audit_pages(db_path: Path, site_dir: Path, published: pd.DataFrame) -> Findings:
    """Worker: the checks of some pages that need the warehouse's unmasked values."""
    findings = Findings()
    truth = _true_values(db_path, published)
    published = published.merge(truth, on=KEY, how="left")
    documents = {page: _documents(site_dir, page) for page in published["page"].unique()}
    _pages(documents, published[published["secret"] == "True"], findings)
    _maps(db_path, documents, published, findings)
    _cress_small_cells(published, findings)
    return findings


def _true_values(db_path: Path, published: pd.DataFrame) -> pd.DataFrame:
    """The unmasked value and display of every published cell."""
    rows = []
    with open_warehouse(db_path) as wh, warnings.catch_warnings():
        warnings.simplefilter("ignore", secrecy.SecrecyWarning)  # nothing here is published
        pages = published[published["indicateur"] == "ess_employees"]
        for page, level, code, year in pages[["page", "niveau", "code", "annee"]].itertuples(
            index=False
        ):
            frame = indicators.compute(wh, level, code, int(year), secrecy=False)
            rows.append(
                pd.DataFrame(
                    {
                        "page": page,
                        "indicateur": frame["indicator"],
                        "categorie": frame["category"].fillna("").astype(str),
                        "annee": frame["year"].astype(str),
                        "true_value": frame["value"],
                        "true_display": frame["display"],
                    }
                )
            )
    return pd.concat(rows, ignore_index=True)


def _protected_here(published: pd.DataFrame) -> pd.Series:
    """Rows the observatory protects: its own figures and the CRESS's (INSEE's and Urssaf's
    published figures were protected by their publishers)."""
    return (published["theme"] != "published") | published["indicateur"].isin(
        [*published_module.CRESS_MEASURES, published_module.CRESS_SHARE]
    )


def _direct(published: pd.DataFrame, findings: Findings) -> None:
    secret = published["secret"] == "True"
    for row in published[secret & (published["valeur"] != "s")].itertuples():
        findings.problems.append(
            f"{row.page} : {row.indicateur} {row.categorie} marqué secret "
            f"mais publié « {row.valeur} »"
        )
    counts = published[
        published["indicateur"].str.endswith("establishments")
        & published["unite"].eq("établissements")
        & ~secret
        & _protected_here(published)
    ]
    small = counts[pd.to_numeric(counts["valeur"], errors="coerce").isin([1, 2])]
    for row in small.itertuples():
        findings.problems.append(
            f"{row.page} : {row.indicateur} {row.categorie} = {row.valeur} "
            "établissement(s) publié (moins de 3)"
        )
    keyed = published.set_index(KEY)
    for count, ratios in DERIVED.items():
        for row in published[secret & (published["indicateur"] == count)].itertuples():
            for ratio in ratios:
                key = (row.page, ratio, row.categorie, row.annee)
                if key in keyed.index and keyed.loc[key, "valeur"] not in ("s", ""):
                    findings.problems.append(
                        f"{row.page} : {count} {row.categorie} masqué mais {ratio} publié"
                    )


def _cress_small_cells(published: pd.DataFrame, findings: Findings) -> None:
    """A CRESS cell of 1 or 2 establishments shows none of its measures."""
    cress = published[published["indicateur"].str.startswith("cress_")]
    counts = cress[cress["indicateur"] == "cress_establishments"]
    small = counts[counts["true_value"].isin([1, 2])]
    cells = set(zip(small["page"], small["categorie"], small["annee"]))
    for row in cress.itertuples():
        if (row.page, row.categorie, row.annee) in cells and row.secret != "True":
            findings.problems.append(
                f"{row.page} : {row.indicateur} {row.categorie} ({row.annee}) publié « "
                f"{row.valeur} » pour une cellule de moins de 3 établissements"
            )


def _pages(documents: dict, secret: pd.DataFrame, findings: Findings) -> None:
    """No chart point or table row labelled like a masked cell shows its true value, in the
    portrait, its note or the note's PDF (``documents``: see ``_documents``)."""
    for page, cells in secret.groupby("page"):
        for document, shown in documents[page]:
            for row in cells.itertuples():
                label = row.libelle_categorie
                if not label or pd.isna(row.true_value):
                    continue
                for value in shown.get(label, ()):
                    if _same_display(value, row.true_display) or _same_number(
                        value, row.true_value
                    ):
                        findings.problems.append(
                            f"{document} : {row.indicateur} « {label} » masqué mais "
                            f"visible dans la page ({value})"
                        )
                        break


def _documents(site_dir: Path, page: str) -> list[tuple[str, dict[str, set]]]:
    """Each document a portrait publishes, with the values it shows beside each label: the
    page, the printable note's page and its PDF."""
    documents = []
    for suffix in (".html", "-note.html"):
        path = site_dir / f"{page}{suffix}"
        if path.is_file():
            documents.append((page + suffix, _labelled_values(path.read_text(encoding="utf-8"))))
    pdf = site_dir / f"{page}.pdf"
    if pdf.is_file():
        documents.append((f"{page}.pdf", _pdf_labelled_values(pdf)))
    return documents


def _pdf_labelled_values(path: Path) -> dict[str, set]:
    """Label → values in the rows of a PDF's tables: a line of its text laid out as printed,
    whose first cell heads the row (« Fondations », « Q – Santé humaine… », « Mende (48095) »)."""
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # « rotated text »: the axis titles
    shown: dict[str, set] = {}
    for page in PdfReader(path).pages:
        for line in page.extract_text(extraction_mode="layout").splitlines():
            head, *cells = re.split(r"\s{2,}", line.strip())
            if not cells:
                continue
            labels = [head, head.split(" – ", 1)[-1]]
            code = re.search(r"\(([0-9AB]{2,9})\)$", head)
            if code:
                labels.append(code.group(1))
            for label in labels:
                shown.setdefault(label, set()).update(cells)
    return shown


def _labelled_values(html: str) -> dict[str, set]:
    """Label → values shown beside it, in the plotly charts and in the data tables."""
    shown: dict[str, set] = {}
    for match in PLOTLY_CALL.finditer(html):
        try:
            traces = json.loads(match.group(1))
        except ValueError:
            continue
        for trace in traces:
            keys = next(
                (
                    trace[k]
                    for k in ("y", "x", "locations", "ids")
                    if isinstance(trace.get(k), list)
                    and trace[k]
                    and all(isinstance(v, str) for v in trace[k])
                ),
                [],
            )
            labels = [BREAK.sub(" ", label) for label in keys]  # labels wrapped in lines
            for key in ("x", "y", "text", "customdata", "z"):
                values = trace.get(key)
                if not isinstance(values, list) or values is keys:
                    continue
                for label, value in zip(labels, values):
                    items = value if isinstance(value, list) else [value]
                    shown.setdefault(label, set()).update(
                        v for v in items if isinstance(v, (str, int, float))
                    )
    for label, cells in TABLE_ROW.findall(html):
        shown.setdefault(_unescape(label), set()).update(_unescape(c) for c in CELL.findall(cells))
    return shown


def _maps(db_path: Path, documents: dict, published: pd.DataFrame, findings: Findings) -> None:
    """The map of a portrait shows its smaller territories: none masked may show its figures,
    in the portrait, its note or the note's PDF."""
    child_level = {"region": "departement", "departement": "epci"}
    pages = published.drop_duplicates("page")
    with open_warehouse(db_path) as wh:
        for page in pages.itertuples():
            level = child_level.get(page.niveau)
            if level is None:
                continue
            year = int(page.annee)
            truth = wh.key_figures(level, year=year).set_index("code")
            shown_in = documents[page.page]
            codes = set().union(*(shown for _, shown in shown_in)) if shown_in else set()
            for code in truth.index.intersection(list(codes)):
                masked = indicators.compute(wh, level, code, year, themes=("key_figures",))
                for indicator, true in (
                    ("ess_employees", formatting.number(truth.at[code, "ess_employees"])),
                    ("ess_share_employees", formatting.percent(truth.at[code, "ess_share_pct"])),
                ):
                    flag = masked.loc[masked["indicator"] == indicator, "secret"]
                    if not len(flag) or not flag.iloc[0]:
                        continue
                    findings.checked += 1
                    for document, shown in shown_in:
                        if any(_same_display(value, true) for value in shown.get(code, ())):
                            findings.problems.append(
                                f"{document} : carte, {level} {code} masqué "
                                f"mais {indicator} visible ({true})"
                            )


def _subtraction(published: pd.DataFrame, findings: Findings) -> None:
    """Solve the additive relations of the published figures; a masked cell solved is a leak.
    A published figure shown « n.d. » is unknown to a reader until solved."""
    unknown = (published["secret"] == "True") | (
        (published["theme"] == "published") & (published["disponible"] == "False")
    )
    cells = published.assign(known=~unknown)
    key = cells.set_index(KEY)["known"].to_dict()
    secret = set(cells.loc[cells["secret"] == "True", KEY].itertuples(index=False, name=None))
    relations = _cress_relations(cells)
    groups = _domain_groups()
    territories = cells.drop_duplicates("page")
    idf = territories.loc[
        (territories["niveau"] == "region") & (territories["code"] == indicators.IDF), "page"
    ]
    for (page, year), frame in cells.groupby(["page", "annee"]):
        for measure in MEASURES:
            total = (page, f"ess_{measure}", "", year)
            family = frame[frame["indicateur"] == f"family_{measure}"]
            relations.append(
                (total, [(page, f"family_{measure}", c, year) for c in family["categorie"]])
            )
            domain = frame[frame["indicateur"] == f"domain_{measure}"]
            if len(domain):
                relations.append(
                    (total, [(page, f"domain_{measure}", c, year) for c in domain["categorie"]])
                )
            for names, divisions in groups:  # a domain (or two) and its divisions
                parts = [
                    *[(page, f"domain_{measure}", c, year) for c in names],
                    *[(page, f"sector_{measure}", d, year) for d in divisions],
                ]
                parts = [p for p in parts if p in key]  # the others are zero: not shown
                if len(parts) > 1 and parts[0][1].startswith("domain_"):
                    relations.append((parts[0], parts[1:]))
            if len(idf):  # France = « France de province » + Île-de-France
                compared = f"compared_ess_{measure}"
                relations.append(
                    (
                        (page, compared, "FR", year),
                        [
                            (page, compared, indicators.PROVINCE[1], year),
                            (idf.iloc[0], f"ess_{measure}", "", year),
                        ],
                    )
                )
            size = frame[frame["indicateur"] == f"size_{measure}"]
            if len(size):
                relations.append(
                    (total, [(page, f"size_{measure}", c, year) for c in size["categorie"]])
                )
            sectors = frame[frame["indicateur"] == f"sector_{measure}"]
            for _, group in sectors.groupby("ventilation"):
                relations.append(
                    (total, [(page, f"sector_{measure}", c, year) for c in group["categorie"]])
                )
    for region in territories[territories["niveau"] == "region"].itertuples():
        children = _departements_of(published, region.code)
        for indicator, category, year in cells.loc[
            cells["page"] == region.page, ["indicateur", "categorie", "annee"]
        ].itertuples(index=False):
            if (
                not indicator.startswith(
                    ("ess_", "family_", "sector_", "size_", "domain_", "cress_")
                )
                or indicator.split("_")[-1] not in ("establishments", "employees", "fte", "wages")
                or indicator
                in (published_module.CRESS_SHARE, "domain_share_employees", "ess_average_wage_fte")
            ):
                continue
            parts = [(p, indicator, category, year) for p in children]
            if parts and all(p in key for p in parts):
                relations.append(((region.page, indicator, category, year), parts))
    known = dict(key)
    solved = True
    while solved:
        solved = False
        for total, parts in relations:
            members = [total, *parts]
            if any(m not in known for m in members):
                continue
            unknown = [m for m in members if not known[m]]
            if len(unknown) == 1:
                known[unknown[0]] = True
                solved = True
                if unknown[0] not in secret:  # a figure « n.d. », not a masked one
                    continue
                page, indicator, category, year = unknown[0]
                findings.problems.append(
                    f"{page} : {indicator} {category} ({year}) masqué mais "
                    "retrouvable par soustraction"
                )


def _domain_groups() -> list[tuple[list[str], list[str]]]:
    """(domains, divisions) whose sums are equal, from the published NAF mapping
    (observatory/domains.py): a domain and its divisions, or, where a division is split
    between domains (94: 94.99Z apart), those domains together and all their divisions."""
    naf = reference.naf()
    naf["domain"] = [
        domains.domain_of(n, a88, a21)
        for n, a88, a21 in zip(naf["naf_code"], naf["a88_code"], naf["a21_code"])
    ]
    merged: list[tuple[set, set]] = []
    for a88, names in naf.groupby("a88_code")["domain"]:
        group = (set(names), {a88})
        for other in [g for g in merged if g[0] & group[0]]:
            merged.remove(other)
            group = (group[0] | other[0], group[1] | other[1])
        merged.append(group)
    return [(sorted(names), sorted(divisions)) for names, divisions in merged]


def _cress_relations(cells: pd.DataFrame) -> list[tuple]:
    """(total, parts) of the CRESS's figures on each page: the ESS and its families (by
    sector; a family absent from the page may be read as zero), a sector and the sectors of a
    smaller level inside it when the page shows every one of them (by family)."""
    naf = reference.naf()
    inside: dict[tuple, set] = {}  # (sector, smaller level) → its sectors of that level
    for row in naf.itertuples():
        for whole, level, member in (
            ("", "a21", row.a21_code),
            ("", "a88", row.a88_code),
            ("", "naf", row.naf_code),
            (row.a21_code, "a88", row.a88_code),
            (row.a21_code, "naf", row.naf_code),
            (row.a88_code, "naf", row.naf_code),
        ):
            inside.setdefault((whole, level), set()).add(member)
    relations = []
    cress = cells[cells["indicateur"].isin(published_module.CRESS_MEASURES)]
    for (page, indicator, year), group in cress.groupby(["page", "indicateur", "annee"]):
        present = {_family_and_sector(category) for category in group["categorie"]}
        key = {(f, s): (page, indicator, " ".join(filter(None, (f, s))), year) for f, s in present}
        for family, sector in present:
            if not family:  # the ESS (of a sector) and its families
                parts = [key[(f, s)] for f, s in present if f and s == sector]
                if parts:
                    relations.append((key[(family, sector)], parts))
            for level in ("a21", "a88", "naf"):
                whole = inside.get((sector, level), set())
                shown = {s for f, s in present if f == family and s in whole}
                if whole and shown == whole:
                    parts = [key[(family, s)] for s in sorted(shown)]
                    relations.append((key[(family, sector)], parts))
    return relations


def _family_and_sector(category: str) -> tuple[str, str]:
    """A published figure's category as (family, sector), each empty when not given:
    ``ASSO 88``, ``ASSO``, ``88``, or empty for the whole ESS."""
    if " " in category:
        family, sector = category.split(" ", 1)
        return family, sector
    return (category, "") if category in FAMILY_CODES else ("", category)


def _departements_of(published: pd.DataFrame, region: str) -> list[str]:
    pages = published.loc[published["niveau"] == "departement", ["page", "code"]].drop_duplicates()
    departements = pd.DataFrame(reference.departements()).drop(columns="geometry", errors="ignore")
    inside = set(departements.loc[departements["region_code"] == region, "code"])
    return (
        sorted(pages.loc[pages["code"].isin(inside), "page"])
        if len(inside) and set(pages["code"]) >= inside
        else []
    )


def _same_display(shown, true_display) -> bool:
    """The same French display, whatever space groups the thousands (a PDF's text has plain
    spaces where the page has narrow no-break ones)."""
    if not isinstance(shown, str) or not isinstance(true_display, str):
        return False
    return SPACES.sub(" ", shown).strip() == SPACES.sub(" ", true_display).strip()


def _same_number(shown, true_value) -> bool:
    if isinstance(shown, bool) or not isinstance(shown, (int, float)):
        return False
    return math.isclose(float(shown), float(true_value), rel_tol=1e-9, abs_tol=1e-9)


def _unescape(text: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", text)).strip()
