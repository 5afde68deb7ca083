"""Piccolo configuration (PICCOLO_CONF=whistle.piccolo_conf).

``DB`` is replaced by ``whistle.db.engine.bind`` when the application or the CLI starts, so the
engine always follows ``Settings`` rather than a second reading of the environment.
"""

from piccolo.conf.apps import AppRegistry
from piccolo.engine.base import Engine

DB: Engine | None = None
APP_REGISTRY = AppRegistry(apps=["whistle.piccolo_app"])
