"""HTTP routes of whistle.officers; app.py registers ``ROUTES``."""

ROUTES: list = []
