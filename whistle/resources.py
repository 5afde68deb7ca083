"""Where the files shipped with the package are: templates, migrations, catalogs, static files
and the common-password list.

pyproject.toml maps the top-level templates/ and migrations/ into the package as
``whistle.templates`` and ``whistle.migrations``, so an editable install and an installed wheel
find every file the same way: through the import system, never relative to a checkout.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def _path(package: str, *parts: str) -> Path:
    resource = files(package).joinpath(*parts)
    # Jinja, the static-files router and piccolo need real paths: whistle is installed as files.
    if not isinstance(resource, Path):
        raise RuntimeError(f"{package} is not installed as plain files (a zip is not supported)")
    return resource


TEMPLATES_DIR = _path("whistle.templates")
MIGRATIONS_DIR = _path("whistle.migrations")
LOCALE_DIR = _path("whistle", "locale")
STATIC_DIR = _path("whistle.web", "static")
COMMON_PASSWORDS_FILE = _path("whistle.officers", "common_passwords.txt")
