"""The key figures of a territory's view: its cards (ESS employees and establishments with
change and rank, ESS share beside the reference's, work and published figures)."""

from __future__ import annotations

import re

import pandas as pd

from observatory import formatting, indicators, secrecy
from observatory.views import frames, html, messages
from observatory.views.blocks import ESTIMATE, SHARE_LABEL, estimated
from observatory.views.html import esc
from observatory.views.series import HEADLINES, published_rows

# ---------------------------------------------------------------------------------------------
# Key figures


def rank_note(
    row: pd.Series, territory: indicators.Territory, parent: indicators.Territory | None
) -> str | None:
    """« rang : 13e sur 100 départements en France », « rang : 1er sur 13 en Occitanie »; None
    for a masked rank or a scope of one territory (nothing to rank)."""
    if row["secret"] or pd.isna(row["value"]):
        return None
    size = re.search(r"sur ([\d\s\u202f\u00a0]+)", str(row["note"]))
    total = int(re.sub(r"\D", "", size.group(1))) if size else 0
    if total < 2:
        return None
    plural = messages.PLURALS[territory.level]
    if row["category"] == "france":
        scope = f"{plural} en France"
    elif parent is not None and row["category"] == parent.code:
        scope = messages.place(parent).at
    else:
        scope = f"{plural} ({row['category_label']})"
    return f"rang : {messages.ordinal(int(row['value']))} sur {formatting.number(total)} {scope}"


def key_figures(
    frame: pd.DataFrame,
    territory: indicators.Territory,
    parent: indicators.Territory | None = None,
) -> list[tuple[str, str, str]]:
    """Cards: ESS employees and establishments with change and rank (within France and
    within ``parent``), ESS share with the reference territory's."""
    row = lambda code, cat=None: frames.row(frame, code, cat)  # noqa: E731
    year = int(frame.attrs["year"])
    suffix = ESTIMATE if estimated(frame) else ""
    if not frame.attrs.get("facts", True):  # a year without ESS facts: n.d. and why
        titles = ("Postes salariés de l'ESS", "Établissements employeurs de l'ESS", SHARE_LABEL)
        codes = ("ess_employees", "ess_establishments", "ess_share_employees")
        return [
            (title, row(code)["display"], row(code)["note"]) for title, code in zip(titles, codes)
        ] + published_cards(frame)
    cards = []
    for code, change, title in (
        ("ess_employees", "employees_annual_change", "Postes salariés de l'ESS" + suffix),
        (
            "ess_establishments",
            "establishments_annual_change",
            "Établissements employeurs de l'ESS",
        ),
    ):
        notes = []
        evolution = row(change, str(year))
        if evolution is not None:
            notes.append(
                f"évolution {evolution['category_label']} : {evolution['display']}"
                + (" (rupture de série)" if evolution["series_break"] else "")
            )
        if code == "ess_employees":
            notes += _ranks(frame, "rank_ess_employees", territory, parent)
        cards.append((title, row(code)["display"], " · ".join(notes)))
    share = row("ess_share_employees")
    notes = []
    ref = row("reference_ess_share_employees")
    if ref is not None:
        gap = row("gap_ess_share_employees")
        notes.append(f"{ref['category_label']} : {ref['display']} (écart {gap['display']})")
    notes += _ranks(frame, "rank_ess_share_employees", territory, parent)
    cards.append((SHARE_LABEL + suffix, share["display"], " · ".join(notes)))
    return cards + work_cards(frame) + published_cards(frame)


# The cards beside the share of all salaried employment: the share of private employment, the
# FTE, the wage bill and the average wage (« n.d. » with its reason where the source lacks them).
WORK_CARDS = (
    ("ess_share_private_employees", "Part de l'ESS dans l'emploi salarié privé"),
    ("ess_fte", "Équivalents temps plein (ETP) de l'ESS"),
    ("ess_gross_wages", "Masse salariale brute de l'ESS"),
    ("ess_average_wage_fte", "Salaire brut annuel moyen par ETP"),
)


def work_cards(frame: pd.DataFrame) -> list[tuple[str, str, str]]:
    """Cards of the ESS share of private employment, its FTE, wage bill and average wage."""
    suffix = ESTIMATE if estimated(frame) else ""
    cards = []
    for code, title in WORK_CARDS:
        row = frames.row(frame, code)
        if row is None:
            continue
        note = row["note"] if isinstance(row["note"], str) else ""
        if code == "ess_share_private_employees":
            title += suffix
            note = "dénominateur : postes salariés du privé (ESS et privé hors ESS)"
            france = frames.row(frame, "compared_ess_share_private_employees", "FR")
            if france is not None:
                note += f" · France : {france['display']}"
        cards.append((title, row["display"], note))
    return cards


def _ranks(frame, indicator, territory, parent) -> list[str]:
    rows = frame[frame["indicator"] == indicator]
    return [n for _, r in rows.iterrows() if (n := rank_note(r, territory, parent))]


def published_cards(frame: pd.DataFrame) -> list[tuple[str, str, str]]:
    """Cards of the ESS as others publish it for the portrait's year (beside, never added to,
    the observatory's own): one per published indicator giving the whole ESS that year."""
    rows = published_rows(frame)
    whole = rows[rows["category"].isna() & (rows["year"] == int(frame.attrs["year"]))]
    return [
        (r["label"], r["display"], r["source"])
        for code in HEADLINES
        for _, r in whole[whole["indicator"] == code].iterrows()
    ]


def key_figures_html(
    frame: pd.DataFrame,
    territory: indicators.Territory,
    parent: indicators.Territory | None = None,
) -> str:
    year = frame.attrs["year"]
    cards = key_figures(frame, territory, parent)
    text = html.cards_html(cards, f"Chiffres clés, {territory.label}, {year}")
    if any(value == secrecy.MARK for _, value, _ in cards):
        text += f'<p class="obs-source">{esc(html.SECRET_NOTE)}</p>'
    if published_cards(frame):
        text += (
            "<p class='obs-source'>Les chiffres publiés par d'autres (INSEE, Urssaf, CRESS) sont "
            "montrés avec leur source, à côté de ceux de l'observatoire, jamais ajoutés à eux.</p>"
        )
    return text + html.source_html(
        frame["source"].iloc[0],
        year,
        [
            indicators.REGISTRY[code].definition
            for code in (
                "ess_employees",
                "ess_share_employees",
                "ess_share_private_employees",
                "ess_fte",
                "ess_average_wage_fte",
            )
        ],
    )
