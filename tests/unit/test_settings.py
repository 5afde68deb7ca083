"""Settings come from WHISTLE_* variables; a malformed value names its variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from whistle.settings import Machine, Settings, SettingsError, derivation_budgets

GIB = 1024**3
TWO_CORES = Machine(cores=2, available_memory_bytes=24 * GIB)


def test_defaults_without_environment():
    settings = Settings.from_env({})
    assert settings.database_url == "sqlite:///data/whistle.db"
    assert settings.is_sqlite and settings.sqlite_path == Path("data/whistle.db")
    assert settings.keys_dir == Path("keys")
    assert settings.argon2.memory_kib == 65536
    assert settings.development is False
    assert (settings.acknowledge_days, settings.feedback_days) == (7, 90)


def test_values_are_read_and_typed():
    settings = Settings.from_env(
        {
            "WHISTLE_DATABASE_URL": "postgresql://whistle:s3cret@db.internal:5433/wbs",
            "WHISTLE_KEYS_DIR": "/srv/whistle/keys",
            "WHISTLE_ARGON2_MEMORY_KIB": "19456",
            "WHISTLE_ARGON2_ITERATIONS": "2",
            "WHISTLE_DEVELOPMENT": "yes",
            "WHISTLE_ACKNOWLEDGE_DAYS": "5",
            "WHISTLE_LOG_LEVEL": "warning",
            "WHISTLE_OFFICE_PASSPHRASE": "hunter2 hunter2",
        }
    )
    assert not settings.is_sqlite
    assert settings.keys_dir == Path("/srv/whistle/keys")
    assert (settings.argon2.memory_kib, settings.argon2.iterations) == (19456, 2)
    assert settings.development is True
    assert settings.acknowledge_days == 5
    assert settings.log_level == "WARNING"
    assert "hunter2" not in repr(settings), "secrets stay out of repr (and so out of logs)"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WHISTLE_ARGON2_MEMORY_KIB", "lots"),
        ("WHISTLE_ARGON2_ITERATIONS", "0"),
        ("WHISTLE_DEVELOPMENT", "maybe"),
        ("WHISTLE_DATABASE_URL", "mysql://root@localhost/x"),
        ("WHISTLE_LOG_LEVEL", "LOUD"),
        ("WHISTLE_KDF_CONCURRENCY", "-1"),
        ("WHISTLE_KDF_OFFICER_CONCURRENCY", "0"),
    ],
)
def test_malformed_value_names_the_variable(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_derivation_budgets_are_separate_and_the_single_one_is_refused():
    defaults = Settings.from_env({}, machine=TWO_CORES)
    budgets = (
        defaults.kdf_submission_concurrency,
        defaults.kdf_lookup_concurrency,
        defaults.kdf_officer_concurrency,
    )
    # On a 2-core machine the defaults keep the old memory bound: 4 derivations of 64 MiB.
    assert sum(budgets) * defaults.argon2_memory_kib == 4 * 65536
    settings = Settings.from_env(
        {
            "WHISTLE_KDF_SUBMISSION_CONCURRENCY": "3",
            "WHISTLE_KDF_LOOKUP_CONCURRENCY": "2",
            "WHISTLE_KDF_OFFICER_CONCURRENCY": "1",
        }
    )
    assert (
        settings.kdf_submission_concurrency,
        settings.kdf_lookup_concurrency,
        settings.kdf_officer_concurrency,
    ) == (3, 2, 1)
    with pytest.raises(SettingsError, match="WHISTLE_KDF_SUBMISSION_CONCURRENCY"):
        Settings.from_env({"WHISTLE_KDF_CONCURRENCY": "4"})


def test_database_url_error_does_not_echo_credentials():
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({"WHISTLE_DATABASE_URL": "mysql://root:topsecret@localhost/x"})
    assert "topsecret" not in str(caught.value)


def test_release_period_is_an_hour_at_least_outside_development():
    assert Settings.from_env({}).release_minutes == 60
    assert Settings.from_env({"WHISTLE_RELEASE_MINUTES": "120"}).release_minutes == 120
    with pytest.raises(SettingsError, match="WHISTLE_RELEASE_MINUTES"):
        Settings.from_env({"WHISTLE_RELEASE_MINUTES": "1"})
    development = {"WHISTLE_DEVELOPMENT": "true", "WHISTLE_RELEASE_MINUTES": "1"}
    assert Settings.from_env(development).release_minutes == 1
    with pytest.raises(SettingsError, match="divide a day"):
        Settings.from_env({"WHISTLE_RELEASE_MINUTES": "70"})


@pytest.mark.parametrize(
    ("name", "value"),
    [("WHISTLE_ARGON2_MEMORY_KIB", "19455"), ("WHISTLE_ARGON2_ITERATIONS", "1")],
)
def test_production_refuses_argon2_costs_below_the_floor(name, value):
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})
    # A developer's machine may go lower (the tests do).
    assert Settings.from_env({name: value, "WHISTLE_DEVELOPMENT": "true"}).development


def test_production_accepts_argon2_costs_at_the_floor():
    settings = Settings.from_env(
        {"WHISTLE_ARGON2_MEMORY_KIB": "19456", "WHISTLE_ARGON2_ITERATIONS": "2"}
    )
    assert (settings.argon2.memory_kib, settings.argon2.iterations) == (19456, 2)


@pytest.mark.parametrize(
    ("machine", "memory_kib", "expected"),
    [
        (TWO_CORES, 65536, (2, 1)),
        (Machine(cores=16, available_memory_bytes=64 * GIB), 65536, (16, 8)),
        # 1 GiB free: half of it holds 8 derivations of 64 MiB; 4 + 2 + the officers' 1 fit.
        (Machine(cores=16, available_memory_bytes=1 * GIB), 65536, (4, 2)),
        (Machine(cores=16, available_memory_bytes=256 * 1024**2), 65536, (1, 1)),
        (Machine(cores=1, available_memory_bytes=24 * GIB), 65536, (1, 1)),
        (Machine(cores=8, available_memory_bytes=None), 65536, (8, 4)),
        # Cheaper derivations (19 MiB) fit more of them in the same memory.
        (Machine(cores=16, available_memory_bytes=1 * GIB), 19456, (16, 8)),
    ],
)
def test_default_derivation_budgets_follow_cores_and_memory(machine, memory_kib, expected):
    assert derivation_budgets(machine, memory_kib) == expected
    settings = Settings.from_env({"WHISTLE_ARGON2_MEMORY_KIB": str(memory_kib)}, machine=machine)
    assert (settings.kdf_submission_concurrency, settings.kdf_lookup_concurrency) == expected
    assert settings.kdf_officer_concurrency == 1


@pytest.mark.parametrize("cores", [1, 2, 4, 8, 32, 128])
@pytest.mark.parametrize("free_gib", [0.5, 1, 2, 4, 16, 256])
def test_all_derivations_at_once_fit_in_half_the_free_memory(cores, free_gib):
    machine = Machine(cores=cores, available_memory_bytes=int(free_gib * GIB))
    settings = Settings.from_env({}, machine=machine)
    at_once = (
        settings.kdf_submission_concurrency
        + settings.kdf_lookup_concurrency
        + settings.kdf_officer_concurrency
    )
    assert settings.kdf_submission_concurrency <= cores
    assert at_once * settings.argon2_memory_kib * 1024 <= max(
        machine.available_memory_bytes // 2, 3 * settings.argon2_memory_kib * 1024
    )


def test_budgets_set_in_the_environment_win_over_the_machine():
    settings = Settings.from_env(
        {"WHISTLE_KDF_SUBMISSION_CONCURRENCY": "3", "WHISTLE_KDF_LOOKUP_CONCURRENCY": "5"},
        machine=Machine(cores=64, available_memory_bytes=512 * GIB),
    )
    assert (settings.kdf_submission_concurrency, settings.kdf_lookup_concurrency) == (3, 5)


def test_this_machine_is_read_as_at_least_one_core():
    machine = Machine.this_one()
    assert machine.cores >= 1
    assert machine.available_memory_bytes is None or machine.available_memory_bytes > 0
