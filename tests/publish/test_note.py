"""The printable note: printed by a real headless Chromium; without one, a French sentence."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from pypdf import PdfReader

from observatory.publication import Portrait
from observatory.publish import note, site


def test_a_missing_chromium_stops_with_one_french_sentence(monkeypatch, tmp_path):
    monkeypatch.setenv("OBSERVATORY_CHROMIUM", str(tmp_path / "chromium"))
    with pytest.raises(note.NoteError) as error, note.Printer():
        pass
    assert str(error.value) == (
        f"Chromium introuvable ({tmp_path / 'chromium'}) : il imprime les notes en PDF (sous "
        "Debian : apt-get install chromium, ou make chromium ; ailleurs, indiquez son chemin "
        "dans OBSERVATORY_CHROMIUM)"
    )


def test_a_note_prints_from_a_running_event_loop_as_in_a_jupyter_kernel(demo_db, tmp_path):
    """A Jupyter kernel (or a browser test) runs an asyncio loop in its thread, where
    Playwright's sync API refuses to start: the printer still prints."""
    site._write_assets(tmp_path)
    (tmp_path / "departement").mkdir()
    page = tmp_path / "departement" / "48-note.html"
    page.write_text(Portrait.load("48", publication=True).note_html(), encoding="utf-8")

    async def in_a_kernel():
        with note.Printer() as printer:
            printer.print(page, page.with_name("48.pdf"))

    # In a thread of its own: this one may already run a loop (the browser tests' Playwright).
    with ThreadPoolExecutor(max_workers=1) as kernel:
        kernel.submit(asyncio.run, in_a_kernel()).result()
    title = PdfReader(page.with_name("48.pdf")).metadata.title
    assert title == f"L'économie sociale et solidaire {place('48')}, 2022"


def test_notes_printed_one_after_the_other_each_hold_their_own_territory(demo_db, tmp_path):
    """One Chromium page prints every note of a worker: the second note replaces the first's
    body; its PDF holds its own title, messages and charts, and nothing of the first."""
    site._write_assets(tmp_path)
    (tmp_path / "departement").mkdir()
    texts, pages = {}, {}
    with note.Printer() as printer:
        for code in ("48", "34"):
            page = tmp_path / "departement" / f"{code}-note.html"
            page.write_text(Portrait.load(code, publication=True).note_html(), encoding="utf-8")
            printer.print(page, page.with_name(f"{code}.pdf"))
            reader = PdfReader(page.with_name(f"{code}.pdf"))
            texts[code] = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in reader.pages))
            pages[code] = len(reader.pages)
            assert reader.metadata.title == f"L'économie sociale et solidaire {place(code)}, 2022"
    for code, other in (("48", "34"), ("34", "48")):
        assert f"L'économie sociale et solidaire {place(code)}" in texts[code]
        assert f"{capitalised(place(code))}, plus d'un salarié" in texts[code]
        assert f"par famille, {NAMES[code]}" in texts[code]  # a chart's title, drawn
        assert NAMES[other] not in texts[code]
        # What published notes show beside the sectors and the reference: the activity domains
        # (a chart and its NAF codes), France and « France de province », the private share,
        # FTE and wages, with their definitions.
        assert f"par domaine d'activité, {NAMES[code]}" in texts[code]
        assert "France de province (hors Île-de-France)" in texts[code]
        assert "la France entière moins la région Île-de-France" in texts[code]
        for label in (
            "Part de l'ESS dans l'emploi salarié privé",
            "Masse salariale brute de l'ESS",
            "Salaire brut annuel moyen par ETP",
            "Associations non classées ailleurs : 94.99Z",
        ):
            assert label in texts[code], label
        assert 4 <= pages[code] <= 8, pages[code]


NAMES = {"48": "Lozère (département 48)", "34": "Hérault (département 34)"}


def place(code: str) -> str:
    return {"48": "en Lozère", "34": "dans l'Hérault"}[code]


def capitalised(text: str) -> str:
    return text[0].upper() + text[1:]
