"""Presentation shared by every reader: charts, one choropleth and one source of map shapes,
tables and French text, drawn the same way in a Voilà page, a static page, a note and a
notebook. Never imports :mod:`observatory.dashboards`."""
