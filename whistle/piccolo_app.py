"""Piccolo's view of Whistle: its tables and the top-level migrations/ folder."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from whistle.db.tables import ALL_TABLES

APP_CONFIG = AppConfig(
    app_name="whistle",
    migrations_folder_path=str(Path(__file__).resolve().parent.parent / "migrations"),
    table_classes=ALL_TABLES,
)
