"""The printable note: printed by a real headless Chromium; without one, a French sentence."""

from __future__ import annotations

import pytest

from observatory import note


def test_a_missing_chromium_stops_with_one_french_sentence(monkeypatch, tmp_path):
    monkeypatch.setenv("OBSERVATORY_CHROMIUM", str(tmp_path / "chromium"))
    with pytest.raises(note.NoteError) as error, note.Printer():
        pass
    assert str(error.value) == (
        f"Chromium introuvable ({tmp_path / 'chromium'}) : il imprime les notes en PDF (sous "
        "Debian : apt-get install chromium, ou make chromium ; ailleurs, indiquez son chemin "
        "dans OBSERVATORY_CHROMIUM)"
    )
