"""Piccolo's view of Whistle: its tables and its migrations (migrations/, installed as
``whistle.migrations``)."""

from piccolo.conf.apps import AppConfig

from whistle.db.tables import ALL_TABLES
from whistle.resources import MIGRATIONS_DIR

APP_CONFIG = AppConfig(
    app_name="whistle",
    migrations_folder_path=str(MIGRATIONS_DIR),
    table_classes=ALL_TABLES,
)
