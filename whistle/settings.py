"""The one place that reads the environment.

Every knob of Whistle is a ``WHISTLE_*`` variable parsed here into an immutable ``Settings``.
A malformed value stops start-up with a message that names the variable (never its value when it
is a secret).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from whistle.crypto.kdf import Argon2Params

# The shortest release period outside development: reporter writes are published hourly at most.
MIN_RELEASE_MINUTES = 60


SMTP_DEFAULT_PORTS = {"starttls": 587, "tls": 465, "none": 25}
_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "::1"}


class SettingsError(ValueError):
    """A WHISTLE_* variable has a value Whistle cannot use."""


# Production floor for Argon2id (the OWASP minimum: 19 MiB, 2 passes). Below it a stolen
# database makes guessing passwords cheap; only a development setup may go lower.
PRODUCTION_MIN_ARGON2_MEMORY_KIB = 19 * 1024
PRODUCTION_MIN_ARGON2_ITERATIONS = 2


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///data/whistle.db"
    keys_dir: Path = Path("keys")
    # Argon2id costs for tracking codes, passwords and officer keys (stored with every hash).
    argon2_memory_kib: int = 65536
    argon2_iterations: int = 3
    argon2_lanes: int = 1
    # Argon2id derivations allowed at once, in three separate budgets so a flood of anonymous
    # submissions cannot starve reporters checking their status or officers logging in. Each
    # running derivation holds argon2_memory_kib: peak memory is (sum of the three) x memory,
    # 4 x 64 MiB = 256 MiB with these values. from_env() sizes the first two to the machine
    # unless set (derivation_budgets): these are what a 2-core machine gets.
    kdf_submission_concurrency: int = 2
    kdf_lookup_concurrency: int = 1
    kdf_officer_concurrency: int = 1
    # How many more may wait for a slot in each budget; beyond that a request gets 503 at once.
    kdf_queue: int = 64
    development: bool = False
    acknowledge_days: int = 7
    feedback_days: int = 90
    due_soon_days: int = 3
    officer_idle_minutes: int = 30
    officer_session_hours: int = 12
    reporter_idle_minutes: int = 20
    # Consecutive failed logins (or password re-checks) that start a lock; each lock episode of
    # the same name doubles the next lock (1 minute, 2, 4, ... up to a day).
    login_lockout_threshold: int = 5
    max_request_bytes: int = 10 * 1024 * 1024
    log_level: str = "INFO"
    # The office's education texts and fee table (<lang>/<page>.toml); None: the shipped ones.
    content_dir: Path | None = None
    # The public statistics are recomputed at least this often (seconds), and after a change.
    statistics_cache_seconds: int = 300
    # A template reading a variable its handler did not pass fails (tests turn this on); in
    # production such a slip renders as empty text rather than refusing a reporter's page.
    strict_templates: bool = False
    # The worker signs an audit checkpoint after this many new entries, and at least this often
    # when anything was logged since the last one.
    audit_checkpoint_entries: int = 1000
    audit_checkpoint_hours: int = 24
    # How often the worker looks for due jobs.
    worker_tick_seconds: int = 30
    # Reporter-originated writes wait in the pending store and are published together at the end
    # of each period of this many minutes (threat model 2). An hour at least outside development.
    release_minutes: int = 60
    # Retention (whistle.cases.retention): a closed case keeps its content this many days after
    # its conclusion, a report closed as not actionable this many; then the purge destroys it.
    retention_days: int = 5 * 365 + 1
    not_actionable_retention_days: int = 365
    # The address officers open the back office at (https://wbs.example.go.id): the link in
    # every alert. Required once mail is configured.
    public_url: str | None = None
    # Alerts by mail (whistle.notify); no host: nobody is mailed and queued alerts are dropped.
    smtp_host: str | None = None
    # 0: the usual port of ``smtp_security`` (587 starttls, 465 tls, 25 none).
    smtp_port: int = 0
    # "starttls", "tls" (implicit) or "none" (only in development or to a loopback relay).
    smtp_security: str = "starttls"
    smtp_username: str | None = None
    # A file holding the SMTP password (read at sending time, never kept in the environment).
    smtp_password_file: Path | None = None
    smtp_from: str | None = None
    # CA certificates to trust for the SMTP server (PEM); None: the system's.
    smtp_ca_file: Path | None = None
    smtp_timeout_seconds: int = 30
    # A failed mail is retried after mail_retry_seconds, doubling each time, up to this many tries.
    mail_max_attempts: int = 8
    mail_retry_seconds: int = 60
    # The daily digests go out at this hour of the office's clock (WIB).
    digest_hour: int = 7
    # Evidence files: the largest file, how many files and how many bytes a report may hold.
    # Upload routes accept request bodies up to the per-report total (plus form overhead).
    evidence_file_bytes: int = 20 * 1024 * 1024
    evidence_files_per_report: int = 10
    evidence_report_bytes: int = 100 * 1024 * 1024
    # Secrets: kept out of repr so they never reach a log line or a traceback.
    office_passphrase: str | None = field(default=None, repr=False)

    @property
    def argon2(self) -> Argon2Params:
        return Argon2Params(
            memory_kib=self.argon2_memory_kib,
            iterations=self.argon2_iterations,
            lanes=self.argon2_lanes,
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sqlite_path(self) -> Path:
        """The SQLite file named by ``sqlite:///relative/path`` or ``sqlite:////absolute/path``."""
        return Path(self.database_url.removeprefix("sqlite:///"))

    @property
    def mail_enabled(self) -> bool:
        return self.smtp_host is not None

    @property
    def smtp_effective_port(self) -> int:
        return self.smtp_port or SMTP_DEFAULT_PORTS[self.smtp_security]

    def with_changes(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, machine: Machine | None = None
    ) -> Settings:
        """Build settings from ``WHISTLE_*`` variables (``os.environ`` when ``env`` is None);
        the derivation budgets not set there follow ``machine`` (this one when None)."""
        env = os.environ if env is None else env
        reader = _Reader(env)
        if env.get("WHISTLE_KDF_CONCURRENCY", "").strip():
            # Silently ignoring it would change the memory bound an operator chose.
            raise SettingsError(
                "WHISTLE_KDF_CONCURRENCY is replaced by WHISTLE_KDF_SUBMISSION_CONCURRENCY, "
                "WHISTLE_KDF_LOOKUP_CONCURRENCY and WHISTLE_KDF_OFFICER_CONCURRENCY"
            )
        defaults = cls()
        memory_kib = reader.integer(
            "WHISTLE_ARGON2_MEMORY_KIB", defaults.argon2_memory_kib, minimum=8
        )
        submission_budget, lookup_budget = derivation_budgets(
            machine or Machine.this_one(), memory_kib
        )
        settings = cls(
            database_url=reader.database_url("WHISTLE_DATABASE_URL", defaults.database_url),
            keys_dir=Path(reader.text("WHISTLE_KEYS_DIR", str(defaults.keys_dir))),
            argon2_memory_kib=memory_kib,
            argon2_iterations=reader.integer(
                "WHISTLE_ARGON2_ITERATIONS", defaults.argon2_iterations, minimum=1
            ),
            argon2_lanes=reader.integer("WHISTLE_ARGON2_LANES", defaults.argon2_lanes, minimum=1),
            kdf_submission_concurrency=reader.integer(
                "WHISTLE_KDF_SUBMISSION_CONCURRENCY", submission_budget, minimum=1
            ),
            kdf_lookup_concurrency=reader.integer(
                "WHISTLE_KDF_LOOKUP_CONCURRENCY", lookup_budget, minimum=1
            ),
            kdf_officer_concurrency=reader.integer(
                "WHISTLE_KDF_OFFICER_CONCURRENCY", defaults.kdf_officer_concurrency, minimum=1
            ),
            kdf_queue=reader.integer("WHISTLE_KDF_QUEUE", defaults.kdf_queue, minimum=0),
            development=reader.boolean("WHISTLE_DEVELOPMENT", defaults.development),
            acknowledge_days=reader.integer(
                "WHISTLE_ACKNOWLEDGE_DAYS", defaults.acknowledge_days, minimum=1
            ),
            feedback_days=reader.integer(
                "WHISTLE_FEEDBACK_DAYS", defaults.feedback_days, minimum=1
            ),
            due_soon_days=reader.integer(
                "WHISTLE_DUE_SOON_DAYS", defaults.due_soon_days, minimum=0
            ),
            officer_idle_minutes=reader.integer(
                "WHISTLE_OFFICER_IDLE_MINUTES", defaults.officer_idle_minutes, minimum=1
            ),
            officer_session_hours=reader.integer(
                "WHISTLE_OFFICER_SESSION_HOURS", defaults.officer_session_hours, minimum=1
            ),
            reporter_idle_minutes=reader.integer(
                "WHISTLE_REPORTER_IDLE_MINUTES", defaults.reporter_idle_minutes, minimum=1
            ),
            login_lockout_threshold=reader.integer(
                "WHISTLE_LOGIN_LOCKOUT_THRESHOLD", defaults.login_lockout_threshold, minimum=1
            ),
            max_request_bytes=reader.integer(
                "WHISTLE_MAX_REQUEST_BYTES", defaults.max_request_bytes, minimum=1024
            ),
            content_dir=Path(raw) if (raw := reader.text("WHISTLE_CONTENT_DIR", "")) else None,
            statistics_cache_seconds=reader.integer(
                "WHISTLE_STATISTICS_CACHE_SECONDS", defaults.statistics_cache_seconds, minimum=0
            ),
            log_level=reader.choice(
                "WHISTLE_LOG_LEVEL", defaults.log_level, {"DEBUG", "INFO", "WARNING", "ERROR"}
            ),
            strict_templates=reader.boolean("WHISTLE_STRICT_TEMPLATES", defaults.strict_templates),
            audit_checkpoint_entries=reader.integer(
                "WHISTLE_AUDIT_CHECKPOINT_ENTRIES", defaults.audit_checkpoint_entries, minimum=1
            ),
            audit_checkpoint_hours=reader.integer(
                "WHISTLE_AUDIT_CHECKPOINT_HOURS", defaults.audit_checkpoint_hours, minimum=1
            ),
            worker_tick_seconds=reader.integer(
                "WHISTLE_WORKER_TICK_SECONDS", defaults.worker_tick_seconds, minimum=1
            ),
            release_minutes=reader.integer(
                "WHISTLE_RELEASE_MINUTES", defaults.release_minutes, minimum=1
            ),
            retention_days=reader.integer(
                "WHISTLE_RETENTION_DAYS", defaults.retention_days, minimum=1
            ),
            not_actionable_retention_days=reader.integer(
                "WHISTLE_NOT_ACTIONABLE_RETENTION_DAYS",
                defaults.not_actionable_retention_days,
                minimum=1,
            ),
            public_url=reader.text("WHISTLE_PUBLIC_URL", "").rstrip("/") or None,
            smtp_host=reader.text("WHISTLE_SMTP_HOST", "") or None,
            smtp_port=reader.integer("WHISTLE_SMTP_PORT", defaults.smtp_port, minimum=0),
            smtp_security=reader.choice(
                "WHISTLE_SMTP_SECURITY", defaults.smtp_security.upper(), {"STARTTLS", "TLS", "NONE"}
            ).lower(),
            smtp_username=reader.text("WHISTLE_SMTP_USERNAME", "") or None,
            smtp_password_file=_optional_path(reader.text("WHISTLE_SMTP_PASSWORD_FILE", "")),
            smtp_from=reader.text("WHISTLE_SMTP_FROM", "") or None,
            smtp_ca_file=_optional_path(reader.text("WHISTLE_SMTP_CA_FILE", "")),
            smtp_timeout_seconds=reader.integer(
                "WHISTLE_SMTP_TIMEOUT_SECONDS", defaults.smtp_timeout_seconds, minimum=1
            ),
            mail_max_attempts=reader.integer(
                "WHISTLE_MAIL_MAX_ATTEMPTS", defaults.mail_max_attempts, minimum=1
            ),
            mail_retry_seconds=reader.integer(
                "WHISTLE_MAIL_RETRY_SECONDS", defaults.mail_retry_seconds, minimum=1
            ),
            digest_hour=reader.integer("WHISTLE_DIGEST_HOUR", defaults.digest_hour, minimum=0),
            evidence_file_bytes=reader.integer(
                "WHISTLE_EVIDENCE_FILE_BYTES", defaults.evidence_file_bytes, minimum=1024
            ),
            evidence_files_per_report=reader.integer(
                "WHISTLE_EVIDENCE_FILES_PER_REPORT", defaults.evidence_files_per_report, minimum=1
            ),
            evidence_report_bytes=reader.integer(
                "WHISTLE_EVIDENCE_REPORT_BYTES", defaults.evidence_report_bytes, minimum=1024
            ),
            office_passphrase=env.get("WHISTLE_OFFICE_PASSPHRASE") or None,
        )
        _check_mail(settings)
        if settings.release_minutes < MIN_RELEASE_MINUTES and not settings.development:
            raise SettingsError(
                f"WHISTLE_RELEASE_MINUTES must be at least {MIN_RELEASE_MINUTES} "
                "outside development (WHISTLE_DEVELOPMENT=true)"
            )
        if 1440 % settings.release_minutes:
            # Periods must tile the day so every boundary falls at the same wall-clock times.
            raise SettingsError("WHISTLE_RELEASE_MINUTES must divide a day (1440) evenly")
        if not settings.development:
            _refuse_weak_argon2(settings)
        return settings


@dataclass(frozen=True)
class Machine:
    """What the derivation budgets are sized to: usable cores and memory free for Whistle."""

    cores: int
    # None when it cannot be read: the budgets then follow the cores alone.
    available_memory_bytes: int | None

    @classmethod
    def this_one(cls) -> Machine:
        """The cores this process may run on and the memory available now (MemAvailable),
        each narrowed by a cgroup v2 limit (a container, a systemd slice) when there is one."""
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
        cores = cores or os.cpu_count() or 1
        quota = _read_first_line(Path("/sys/fs/cgroup/cpu.max")).split()
        if len(quota) == 2 and quota[0].isdigit() and quota[1].isdigit() and int(quota[1]):
            cores = max(1, min(cores, int(quota[0]) // int(quota[1])))
        memory = None
        for line in _read_first_line(Path("/proc/meminfo"), whole=True).splitlines():
            if line.startswith("MemAvailable:"):
                memory = int(line.split()[1]) * 1024
        limit = _read_first_line(Path("/sys/fs/cgroup/memory.max"))
        used = _read_first_line(Path("/sys/fs/cgroup/memory.current"))
        if limit.isdigit() and used.isdigit():
            free_in_group = max(0, int(limit) - int(used))
            memory = free_in_group if memory is None else min(memory, free_in_group)
        return cls(cores=cores, available_memory_bytes=memory)


def derivation_budgets(machine: Machine, argon2_memory_kib: int) -> tuple[int, int]:
    """Default derivations at once for submissions and for code look-ups on ``machine``.

    Argon2id with one lane keeps one core busy, so more submissions at once than cores only
    queue inside the thread pool; and all derivations together (submissions, look-ups and the
    officers' one) must fit in half the available memory, leaving the rest to the database and
    the page cache. Look-ups get half the submission budget: a flood of submissions still
    cannot starve them, as each budget has its own slots. A 2-core machine gets 2 and 1."""
    fit = None
    if machine.available_memory_bytes is not None:
        fit = machine.available_memory_bytes // (argon2_memory_kib * 1024) // 2
    submissions = machine.cores if fit is None else min(machine.cores, (fit - 1) * 2 // 3)
    submissions = max(1, submissions)
    return submissions, max(1, submissions // 2)


def _read_first_line(path: Path, *, whole: bool = False) -> str:
    try:
        text = path.read_text()
    except OSError:
        return ""
    return text if whole else (text.splitlines() or [""])[0].strip()


def _optional_path(raw: str) -> Path | None:
    return Path(raw) if raw else None


def _check_mail(settings: Settings) -> None:
    """Mail settings that cannot work, or would send officers' mail in clear over a network."""
    if settings.digest_hour > 23:
        raise SettingsError("WHISTLE_DIGEST_HOUR must be an hour of the day, 0 to 23")
    if settings.smtp_port > 65535:
        raise SettingsError("WHISTLE_SMTP_PORT must be at most 65535")
    schemes = ("https://", "http://") if settings.development else ("https://",)
    if settings.public_url is not None and not settings.public_url.startswith(schemes):
        raise SettingsError("WHISTLE_PUBLIC_URL must start with https://")
    if settings.smtp_host is None:
        return
    if settings.smtp_from is None or "@" not in settings.smtp_from:
        raise SettingsError("WHISTLE_SMTP_FROM must be set to the sender address when mail is on")
    if settings.public_url is None:
        raise SettingsError("WHISTLE_PUBLIC_URL must be set when mail is on (alerts link to it)")
    if (
        settings.smtp_security == "none"
        and not settings.development
        and settings.smtp_host not in _LOOPBACK_HOSTS
    ):
        raise SettingsError(
            "WHISTLE_SMTP_SECURITY=none is allowed only to a loopback relay or in development: "
            "use starttls or tls"
        )


def _refuse_weak_argon2(settings: Settings) -> None:
    """Stop a production start-up whose Argon2id costs are below the floor (naming the variable)."""
    floors = (
        ("WHISTLE_ARGON2_MEMORY_KIB", settings.argon2_memory_kib, PRODUCTION_MIN_ARGON2_MEMORY_KIB),
        ("WHISTLE_ARGON2_ITERATIONS", settings.argon2_iterations, PRODUCTION_MIN_ARGON2_ITERATIONS),
    )
    for name, value, floor in floors:
        if value < floor:
            raise SettingsError(
                f"{name} must be at least {floor} outside development, got {value} "
                "(set WHISTLE_DEVELOPMENT=true only on a developer's machine)"
            )


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env

    def text(self, name: str, default: str) -> str:
        value = self.env.get(name, "").strip()
        return value or default

    def integer(self, name: str, default: int, *, minimum: int) -> int:
        raw = self.env.get(name, "").strip()
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
        if value < minimum:
            raise SettingsError(f"{name} must be at least {minimum}, got {value}")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        raw = self.env.get(name, "").strip().lower()
        if not raw:
            return default
        if raw in {"1", "true", "yes", "on"}:
            return True
        if raw in {"0", "false", "no", "off"}:
            return False
        raise SettingsError(f"{name} must be true or false, got {raw!r}")

    def choice(self, name: str, default: str, allowed: set[str]) -> str:
        raw = self.env.get(name, "").strip().upper()
        if not raw:
            return default
        if raw not in allowed:
            raise SettingsError(f"{name} must be one of {', '.join(sorted(allowed))}, got {raw!r}")
        return raw

    def database_url(self, name: str, default: str) -> str:
        raw = self.env.get(name, "").strip()
        if not raw:
            return default
        if raw.startswith("sqlite:///") and len(raw) > len("sqlite:///"):
            return raw
        if raw.startswith(("postgresql://", "postgres://")):
            # Only the scheme is echoed: the URL may carry a password.
            return raw
        scheme = raw.split(":", 1)[0] if ":" in raw else "(none)"
        raise SettingsError(
            f"{name} must start with sqlite:/// or postgresql:// (scheme given: {scheme})"
        )
