"""HTTP routes of whistle.cases; app.py registers ``ROUTES``."""

ROUTES: list = []
