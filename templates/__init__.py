"""Jinja templates; installed inside the package as ``whistle.templates`` (see pyproject.toml)."""
