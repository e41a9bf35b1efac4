"""Settings: one table drives the flags, the `GITSERVER_*` variables and `gitserver.toml`.

Precedence, highest first: command-line flag, environment variable, `gitserver.toml`
(the file named by `--config` / `GITSERVER_CONFIG`, else `./gitserver.toml`, else
`DATA/gitserver.toml`), built-in default.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gitserver.clientip import parse_networks


class ConfigError(Exception):
    """A setting has a value that cannot be used."""


def parse_hostport(value: str) -> tuple[str, int]:
    """Parse `HOST:PORT` (IPv6 hosts in brackets)."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(f"expected HOST:PORT, got {value!r}")
    host = host.strip("[]") or "127.0.0.1"
    number = int(port)
    if not 0 <= number <= 65535:
        raise ConfigError(f"port out of range in {value!r}")
    return host, number


def _bool(value: str | bool) -> bool:
    if isinstance(value, bool):
        return value
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"expected a boolean, got {value!r}")


def _int(value: str | int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"expected an integer, got {value!r}") from exc


def _float(value: str | float) -> float:
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"expected a number, got {value!r}") from exc


def _str(value: Any) -> str:
    return str(value)


def _list(value: str | list[str]) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(str(v).strip() for v in value if str(v).strip())
    return tuple(v.strip() for v in str(value).split(",") if v.strip())


@dataclass(frozen=True, slots=True)
class Option:
    """One setting: its key (also the toml key), flag, variable, parser and help text."""

    key: str
    default: Any
    parse: Callable[[Any], Any]
    help: str
    flag: str = ""

    @property
    def env(self) -> str:
        return "GITSERVER_" + self.key.upper()

    @property
    def cli_flag(self) -> str:
        return self.flag or "--" + self.key.replace("_", "-")


OPTIONS: tuple[Option, ...] = (
    Option("data", "./data", _str, "data directory (repositories, keys, SQLite database)"),
    Option("database_url", "", _str, "SQLAlchemy URL; default SQLite in the data directory"),
    Option("http", "127.0.0.1:8080", _str, "HTTP listen address HOST:PORT"),
    Option("ssh", "127.0.0.1:2222", _str, "SSH listen address HOST:PORT"),
    Option("no_ssh", False, _bool, "do not start the SSH server"),
    Option("ssh_idle_timeout", 300.0, _float, "seconds an SSH connection may move no data"),
    Option("ssh_session_timeout", 3600.0, _float, "seconds one SSH git command may run"),
    Option("ssh_max_sessions", 256, _int, "concurrent SSH git sessions, in total"),
    Option("ssh_max_sessions_per_user", 32, _int, "concurrent SSH git sessions per user"),
    Option("ssh_max_connections", 256, _int, "open SSH connections, in total (from accept)"),
    Option("ssh_max_connections_per_ip", 64, _int, "open SSH connections per client address"),
    Option("ssh_login_timeout", 30.0, _float, "seconds an SSH client has to authenticate"),
    Option("http_header_timeout", 10.0, _float, "seconds an HTTP request's headers may take"),
    Option(
        "http_body_idle_timeout",
        60.0,
        _float,
        "seconds an HTTP request body may stall before it (and its git) is stopped",
    ),
    Option("http_max_connections", 1024, _int, "open HTTP connections, in total"),
    Option(
        "http_max_connections_per_ip",
        64,
        _int,
        "open HTTP connections per client IP (trusted proxies: total cap only)",
    ),
    Option("http_max_git_processes", 256, _int, "concurrent git processes for HTTP, in total"),
    Option("http_max_git_processes_per_user", 32, _int, "concurrent git processes per HTTP user"),
    Option("base_url", "", _str, "public base URL used in clone URLs (default from --http)"),
    Option("ssh_base_url", "", _str, "public ssh:// base used in SSH clone URLs"),
    Option("tls_cert", "", _str, "PEM certificate: serve HTTPS on the HTTP port"),
    Option("tls_key", "", _str, "PEM private key for --tls-cert"),
    Option("workers", True, _bool, "run event delivery and pipeline jobs in this process"),
    Option("region", "us-east-1", _str, "AWS region used in ARNs and SigV4 scopes"),
    Option("account_id", "000000000000", _str, "12-digit account id used in ARNs"),
    Option("webhook_allowed_hosts", (), _list, "hosts/CIDRs webhooks may reach though private"),
    Option(
        "webhook_retry_schedule",
        (),
        _list,
        "seconds before each retry (default 10,30,120,600,3600,10800; the last repeats)",
    ),
    Option(
        "webhook_retry_window", 86400.0, _float, "seconds a delivery is retried before it fails"
    ),
    Option(
        "webhook_lease",
        120.0,
        _float,
        "seconds a claimed delivery waits before another worker may send it again (after a crash)",
    ),
    Option("trigger_targets", (), _list, "ARN=URL pairs: where SNS/Lambda trigger targets are"),
    Option("smtp_host", "", _str, "SMTP server for email notifications"),
    Option("smtp_port", 25, _int, "SMTP port"),
    Option("smtp_security", "none", _str, "none, starttls or tls"),
    Option("smtp_username", "", _str, "SMTP user name (with smtp_password)"),
    Option("smtp_password", "", _str, "SMTP password"),
    Option("smtp_from", "gitserver@localhost", _str, "From: address of notifications"),
    Option("trusted_proxies", (), _list, "proxies (IPs/CIDRs) whose X-Forwarded-For is believed"),
    Option("api_prefix", "", _str, "extra path the CodeCommit API answers at, besides /"),
    Option("api_regions", (), _list, "SigV4 regions the API accepts (default: any)"),
    Option("max_api_request", 16 * 1024 * 1024, _int, "max bytes of one API request body"),
    Option("api_page_size", 1000, _int, "items per page of the API's List operations"),
    Option(
        "max_file_size", 6 * 1024 * 1024, _int, "max bytes of a file read or written by the API"
    ),
    Option(
        "secret_scanning",
        True,
        _bool,
        "scan the lines pushes and API writes add for secrets (a repository may override)",
    ),
    Option("log_level", "INFO", _str, "logging level"),
    Option("log_format", "text", _str, "text, or json: one JSON object per log line"),
    Option(
        "shutdown_timeout",
        30.0,
        _float,
        "seconds SIGTERM waits for running pushes, API calls and deliveries to finish",
    ),
    Option("git_timeout", 3600.0, _float, "seconds a git transport process may run"),
    Option("max_upload_request", 64 * 1024 * 1024, _int, "max inflated fetch request bytes"),
    Option(
        "pack_cache_max_bytes",
        1024 * 1024 * 1024,
        _int,
        "bytes kept on disk to answer identical fetches (clone storms), by the pack,"
        " response and refs caches together; 0: no cache",
    ),
    Option("pack_cache_max_age", 300.0, _float, "seconds a cached pack is served; 0: no cache"),
    Option(
        "response_cache",
        True,
        _bool,
        "answer identical HTTP clones, ref advertisements and ls-refs from one upload-pack"
        " run each (within the pack cache's age and bytes)",
    ),
    Option("max_push_commands", 4 * 1024 * 1024, _int, "max bytes of a push's command list"),
    Option(
        "reconcile_interval", 300.0, _float, "seconds between reconciler runs (0: only at start)"
    ),
    Option("prepared_grace", 30.0, _float, "seconds before a stuck ref update is reconciled"),
    Option("maintenance_delay", 2.0, _float, "seconds after a push before repository maintenance"),
    Option("maintenance", True, _bool, "run repository maintenance in the background"),
    Option("audit_retention_days", 90, _int, "days audit records are kept (0: forever)"),
    Option("pipeline_runners", 2, _int, "pipeline jobs this server runs at once (0: none)"),
    Option(
        "build_executor",
        "bwrap",
        _str,
        "bwrap (sandbox) or shell (no sandbox: trusted builds only) for pipeline builds",
    ),
    Option("pipeline_lease", 30.0, _float, "seconds a runner's job lease lasts between heartbeats"),
    Option(
        "pipeline_approval_timeout",
        7 * 24 * 3600.0,
        _float,
        "seconds a Manual approval waits when it sets no TimeoutInMinutes",
    ),
    Option("pipeline_build_timeout", 3600.0, _float, "seconds a build may run unless it says"),
    Option("pipeline_interval", 2.0, _float, "seconds between pipeline housekeeping rounds"),
)

_BY_KEY = {option.key: option for option in OPTIONS}


@dataclass(frozen=True, slots=True)
class Settings:
    """Resolved settings. Build with `load_settings`."""

    data: Path = Path("./data")
    database_url: str = ""
    http: str = "127.0.0.1:8080"
    ssh: str = "127.0.0.1:2222"
    no_ssh: bool = False
    ssh_idle_timeout: float = 300.0
    ssh_session_timeout: float = 3600.0
    ssh_max_sessions: int = 256
    ssh_max_sessions_per_user: int = 32
    ssh_max_connections: int = 256
    ssh_max_connections_per_ip: int = 64
    ssh_login_timeout: float = 30.0
    http_header_timeout: float = 10.0
    http_body_idle_timeout: float = 60.0
    http_max_connections: int = 1024
    http_max_connections_per_ip: int = 64
    http_max_git_processes: int = 256
    http_max_git_processes_per_user: int = 32
    base_url: str = ""
    ssh_base_url: str = ""
    tls_cert: str = ""
    tls_key: str = ""
    workers: bool = True
    region: str = "us-east-1"
    account_id: str = "000000000000"
    webhook_allowed_hosts: tuple[str, ...] = ()
    webhook_retry_schedule: tuple[str, ...] = ()
    webhook_retry_window: float = 86400.0
    webhook_lease: float = 120.0
    trigger_targets: tuple[str, ...] = ()
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_security: str = "none"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_from: str = "gitserver@localhost"
    trusted_proxies: tuple[str, ...] = ()
    api_prefix: str = ""
    api_regions: tuple[str, ...] = ()
    max_api_request: int = 16 * 1024 * 1024
    api_page_size: int = 1000
    max_file_size: int = 6 * 1024 * 1024
    secret_scanning: bool = True
    log_level: str = "INFO"
    log_format: str = "text"
    shutdown_timeout: float = 30.0
    git_timeout: float = 3600.0
    max_upload_request: int = 64 * 1024 * 1024
    pack_cache_max_bytes: int = 1024 * 1024 * 1024
    pack_cache_max_age: float = 300.0
    response_cache: bool = True
    max_push_commands: int = 4 * 1024 * 1024
    reconcile_interval: float = 300.0
    prepared_grace: float = 30.0
    maintenance_delay: float = 2.0
    maintenance: bool = True
    audit_retention_days: int = 90
    pipeline_runners: int = 2
    build_executor: str = "bwrap"
    pipeline_lease: float = 30.0
    pipeline_approval_timeout: float = 7 * 24 * 3600.0
    pipeline_build_timeout: float = 3600.0
    pipeline_interval: float = 2.0
    sources: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data / 'gitserver.db').resolve()}"

    @property
    def pack_cache(self) -> bool:
        """Whether identical fetches share one pack-objects run."""
        return self.pack_cache_max_bytes > 0 and self.pack_cache_max_age > 0

    @property
    def http_address(self) -> tuple[str, int]:
        return parse_hostport(self.http)

    @property
    def ssh_address(self) -> tuple[str, int]:
        return parse_hostport(self.ssh)

    @property
    def public_base_url(self) -> str:
        if self.base_url:
            return self.base_url.rstrip("/")
        host, port = self.http_address
        scheme = "https" if self.tls_cert else "http"
        return f"{scheme}://{host}:{port}"

    @property
    def public_ssh_base(self) -> str:
        if self.ssh_base_url:
            return self.ssh_base_url.rstrip("/")
        host, port = self.ssh_address
        return f"ssh://{host}:{port}"

    def repository_arn(self, name: str) -> str:
        return f"arn:aws:codecommit:{self.region}:{self.account_id}:{name}"

    def user_arn(self, name: str) -> str:
        return f"arn:aws:iam::{self.account_id}:user/{name}"


def add_arguments(parser: argparse.ArgumentParser, keys: tuple[str, ...]) -> None:
    """Add the flags for `keys` to `parser`; unset flags stay absent from the namespace."""
    for key in keys:
        option = _BY_KEY[key]
        if option.parse is _bool and option.key.startswith("no_"):
            # argparse's BooleanOptionalAction reads any "--no-…" flag as False.
            parser.add_argument(
                option.cli_flag,
                dest=key,
                action="store_true",
                default=argparse.SUPPRESS,
                help=f"{option.help} [{option.env}]",
            )
        elif option.parse is _bool:
            parser.add_argument(
                option.cli_flag,
                dest=key,
                action=argparse.BooleanOptionalAction,
                default=argparse.SUPPRESS,
                help=f"{option.help} [{option.env}]",
            )
        else:
            parser.add_argument(
                option.cli_flag,
                dest=key,
                default=argparse.SUPPRESS,
                help=f"{option.help} [{option.env}]",
            )


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    section = document.get("gitserver", document)
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [gitserver] must be a table")
    unknown = sorted(set(section) - set(_BY_KEY))
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s): {', '.join(unknown)}")
    return section


def _config_file(flags: Mapping[str, Any], env: Mapping[str, str]) -> Path | None:
    explicit = flags.get("config") or env.get("GITSERVER_CONFIG")
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        return path
    data = Path(flags.get("data") or env.get("GITSERVER_DATA") or "./data")
    for candidate in (Path("gitserver.toml"), data / "gitserver.toml"):
        if candidate.is_file():
            return candidate
    return None


def load_settings(
    flags: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Resolve settings from flags, environment and the toml file.

    Raises:
        ConfigError: a value is malformed or a config file is unreadable.
    """
    flags = dict(flags or {})
    env = os.environ if env is None else env
    path = _config_file(flags, env)
    file_values = _read_toml(path) if path else {}
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for option in OPTIONS:
        if option.key in flags and flags[option.key] is not None:
            raw, source = flags[option.key], "flag"
        elif option.env in env:
            raw, source = env[option.env], "env"
        elif option.key in file_values:
            raw, source = file_values[option.key], str(path)
        else:
            values[option.key] = option.default
            continue
        try:
            values[option.key] = option.parse(raw)
        except ConfigError as exc:
            raise ConfigError(f"{option.key} ({source}): {exc}") from exc
        sources[option.key] = source
    values["data"] = Path(values["data"])
    settings = Settings(**values, sources=sources)
    _validate(settings)
    return settings


def _validate(settings: Settings) -> None:
    parse_hostport(settings.http)
    parse_hostport(settings.ssh)
    if bool(settings.tls_cert) != bool(settings.tls_key):
        raise ConfigError("--tls-cert and --tls-key go together")
    if not (settings.account_id.isdigit() and len(settings.account_id) == 12):
        raise ConfigError("account_id must be 12 digits")
    for key in (
        "ssh_idle_timeout",
        "ssh_session_timeout",
        "ssh_login_timeout",
        "http_header_timeout",
        "http_body_idle_timeout",
        "webhook_lease",
    ):
        if getattr(settings, key) <= 0:
            raise ConfigError(f"{key} must be positive")
    try:
        parse_networks(settings.trusted_proxies)
    except ValueError as exc:
        raise ConfigError(f"trusted_proxies: {exc}") from None
    for key in ("pack_cache_max_bytes", "pack_cache_max_age"):
        if getattr(settings, key) < 0:
            raise ConfigError(f"{key} must not be negative")
    if settings.audit_retention_days < 0:
        raise ConfigError("audit_retention_days must not be negative")
    try:
        if any(float(v) <= 0 for v in settings.webhook_retry_schedule):
            raise ValueError
    except ValueError:
        raise ConfigError("webhook_retry_schedule: positive numbers of seconds") from None
    if settings.smtp_security not in ("none", "starttls", "tls"):
        raise ConfigError("smtp_security must be none, starttls or tls")
    if settings.log_format not in ("text", "json"):
        raise ConfigError("log_format must be text or json")
    if settings.shutdown_timeout < 0:
        raise ConfigError("shutdown_timeout must not be negative")
    if settings.build_executor not in ("bwrap", "shell"):
        raise ConfigError("build_executor must be bwrap or shell")
    if settings.pipeline_runners < 0:
        raise ConfigError("pipeline_runners must not be negative")
    for key in (
        "pipeline_lease",
        "pipeline_approval_timeout",
        "pipeline_build_timeout",
        "pipeline_interval",
    ):
        if getattr(settings, key) <= 0:
            raise ConfigError(f"{key} must be positive")
    if settings.api_prefix and not settings.api_prefix.startswith("/"):
        raise ConfigError("api_prefix must start with /")
    for key in (
        "ssh_max_sessions",
        "ssh_max_sessions_per_user",
        "ssh_max_connections",
        "ssh_max_connections_per_ip",
        "http_max_connections",
        "http_max_connections_per_ip",
        "http_max_git_processes",
        "http_max_git_processes_per_user",
        "max_api_request",
        "max_file_size",
        "api_page_size",
    ):
        if getattr(settings, key) < 1:
            raise ConfigError(f"{key} must be at least 1")


def replace(settings: Settings, **changes: Any) -> Settings:
    """Return a copy of `settings` with `changes` applied."""
    return dataclasses.replace(settings, **changes)
