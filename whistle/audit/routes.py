"""HTTP routes of whistle.audit; app.py registers ``ROUTES``."""

ROUTES: list = []
