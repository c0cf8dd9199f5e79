"""Logic of the Voilà dashboards; the notebooks in dashboards/ only call it."""
