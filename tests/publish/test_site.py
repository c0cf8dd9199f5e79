"""The static site's pages travel alone: style and plotly.js inside, nothing fetched."""

from __future__ import annotations

import re

from plotly.offline import get_plotlyjs_version

from observatory.publish import site


def test_the_vendored_plotly_bundle_is_plotly_py_s_own_version():
    head = site.PLOTLY_BASIC.read_text(encoding="utf-8")[:200]
    assert f"plotly.js (basic - minified) v{get_plotlyjs_version()}\n" in head


def test_a_portrait_page_carries_its_style_and_plotly_and_fetches_nothing():
    page = site.page_html(site.Page("departement", "48", "Lozère"), "<p>corps</p>", 2022)
    assert not re.search(r"<(script|img|iframe)[^>]+src=|<link[^>]+href=", page)
    assert site.plotly_basic() in page and "</script" not in site.plotly_basic()
    assert ".obs-card{" in page and "@media print" in page
