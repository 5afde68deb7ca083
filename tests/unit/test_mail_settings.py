"""The SMTP settings: read from WHISTLE_* variables, refused when mail could not work or would
cross a network in clear."""

from __future__ import annotations

from pathlib import Path

import pytest

from whistle.settings import Settings, SettingsError

MAIL = {
    "WHISTLE_SMTP_HOST": "smtp.imigrasi.example",
    "WHISTLE_SMTP_FROM": "wbs@imigrasi.example",
    "WHISTLE_PUBLIC_URL": "https://wbs.imigrasi.example/",
}


def test_mail_is_off_without_a_host():
    settings = Settings.from_env({})
    assert not settings.mail_enabled
    assert settings.smtp_security == "starttls"


def test_mail_settings_are_read_and_typed():
    settings = Settings.from_env(
        {
            **MAIL,
            "WHISTLE_SMTP_SECURITY": "tls",
            "WHISTLE_SMTP_USERNAME": "wbs",
            "WHISTLE_SMTP_PASSWORD_FILE": "/etc/whistle/smtp-password",
            "WHISTLE_SMTP_CA_FILE": "/etc/whistle/relay-ca.pem",
            "WHISTLE_MAIL_MAX_ATTEMPTS": "5",
            "WHISTLE_MAIL_RETRY_SECONDS": "30",
            "WHISTLE_DIGEST_HOUR": "8",
        }
    )
    assert settings.mail_enabled
    assert (settings.smtp_security, settings.smtp_effective_port) == ("tls", 465)
    assert settings.smtp_password_file == Path("/etc/whistle/smtp-password")
    assert settings.smtp_ca_file == Path("/etc/whistle/relay-ca.pem")
    assert settings.public_url == "https://wbs.imigrasi.example"
    assert (settings.mail_max_attempts, settings.mail_retry_seconds) == (5, 30)
    assert settings.digest_hour == 8
    assert Settings.from_env(MAIL).smtp_effective_port == 587


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"WHISTLE_SMTP_FROM": ""}, "WHISTLE_SMTP_FROM"),
        ({"WHISTLE_PUBLIC_URL": ""}, "WHISTLE_PUBLIC_URL"),
        ({"WHISTLE_PUBLIC_URL": "http://wbs.imigrasi.example"}, "WHISTLE_PUBLIC_URL"),
        ({"WHISTLE_SMTP_SECURITY": "none"}, "WHISTLE_SMTP_SECURITY"),
        ({"WHISTLE_SMTP_SECURITY": "ssl3"}, "WHISTLE_SMTP_SECURITY"),
        ({"WHISTLE_DIGEST_HOUR": "24"}, "WHISTLE_DIGEST_HOUR"),
        ({"WHISTLE_SMTP_PORT": "70000"}, "WHISTLE_SMTP_PORT"),
    ],
)
def test_unusable_mail_settings_stop_start_up(changes, named):
    with pytest.raises(SettingsError, match=named):
        Settings.from_env({**MAIL, **changes})


def test_plain_smtp_only_to_loopback_or_in_development():
    loopback = {**MAIL, "WHISTLE_SMTP_HOST": "127.0.0.1", "WHISTLE_SMTP_SECURITY": "none"}
    assert Settings.from_env(loopback).smtp_effective_port == 25
    development = {
        **MAIL,
        "WHISTLE_SMTP_SECURITY": "none",
        "WHISTLE_DEVELOPMENT": "true",
        "WHISTLE_ARGON2_MEMORY_KIB": "256",
    }
    assert Settings.from_env(development).smtp_security == "none"


def test_the_smtp_password_file_path_is_not_a_secret_but_no_password_is_read_here(tmp_path):
    # The password stays in its file: settings hold the path only (read when sending).
    secret = tmp_path / "pw"
    secret.write_text("relay secret")
    settings = Settings.from_env({**MAIL, "WHISTLE_SMTP_PASSWORD_FILE": str(secret)})
    assert "relay secret" not in repr(settings)
