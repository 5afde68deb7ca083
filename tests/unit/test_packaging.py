"""The wheel's package list (pyproject.toml) names every package of the source tree."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_pyproject_lists_every_package_under_whistle() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "whistle").rglob("__init__.py")
    }
    mapped = {name: ROOT / directory for name, directory in config["package-dir"].items()}
    listed = set(config["packages"])
    missing = sorted(found - listed)
    assert not missing, f"add {missing} to [tool.setuptools] packages in pyproject.toml"
    stale = sorted(listed - found - set(mapped))
    assert not stale, f"pyproject.toml lists packages that do not exist: {stale}"
    assert mapped == {
        "whistle.templates": ROOT / "templates",
        "whistle.migrations": ROOT / "migrations",
    }
    for name, directory in mapped.items():
        assert (directory / "__init__.py").is_file(), f"{name}: {directory} needs an __init__.py"
