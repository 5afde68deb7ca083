"""Database: tables, engine set-up, migrations."""

import os

# piccolo finds its configuration through this variable; Whistle has exactly one.
os.environ["PICCOLO_CONF"] = "whistle.piccolo_conf"
