"""CSS shared by the views' pages and the dashboards' first paint; it imports nothing, so that
``dashboards/launch.py`` reads it before any heavy module."""

MESSAGE_CSS = (
    ".obs-message{background:#e8f1fb;border:2px solid #0072B2;color:#00325a;"
    "padding:.6em 1em;margin:.5em 0}"
)
