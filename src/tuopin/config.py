"""Settings, declared as data with help text; built once by the CLI or create_app().

Read from ``TUOPIN_*`` environment variables (names in any case) by the standard library
alone: pydantic and pydantic-settings took 0.13 s to import, paid by every command that
opens the store. A value given to ``Settings(...)`` wins over the environment, which wins
over the default; a bad value is a ConfigurationError that names its variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import Field, dataclass, field, fields, replace
from functools import cache
from pathlib import Path
from types import NoneType, UnionType
from typing import Any, get_args, get_type_hints

from tuopin.domain.errors import ConfigurationError

DEFAULT_DB_PATH = Path("var/tuopin.db")
PREFIX = "TUOPIN_"
_TRUE = {"1", "true", "t", "yes", "y", "on"}
_FALSE = {"0", "false", "f", "no", "n", "off"}


class SecretStr:
    """A secret value: printed as ``**********`` (logs, reprs, error messages); read with
    ``get_secret_value()``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "SecretStr('**********')"

    def __str__(self) -> str:
        return "**********" if self._value else ""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretStr) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def setting(default: Any, description: str, *, ge: float | None = None,
            gt: float | None = None) -> Any:
    """A setting's default, help text and lower bound (``ge``: at least, ``gt``: above)."""
    return field(default=default, metadata={"description": description, "ge": ge, "gt": gt})


@dataclass(frozen=True, init=False)
class Settings:
    """tuopin's configuration, read from ``TUOPIN_*`` environment variables."""

    database_url: str = setting(
        default=f"sqlite:///{DEFAULT_DB_PATH}",
        description="SQLAlchemy URL of the store: a SQLite file (default) or "
        "postgresql+psycopg://user@host/db.",
    )
    lang: str = setting(default="zh", description="Default language of messages: zh or en.")
    data_dir: Path = setting(
        default=Path("var"), description="Where evidence files and snapshots are kept."
    )
    evidence_max_bytes: int = setting(
        default=10_000_000, description="Largest evidence file accepted (bytes)."
    )
    exit_notice_days: int = setting(
        default=7, description="Length of the public notice (公示) before a household exits."
    )
    exit_in_identification_year: bool = setting(
        default=False,
        description="Allow a household to exit in the year it was identified (local rule: no).",
    )
    monitoring_deadline_days: int = setting(
        default=15, description="Days from proposal to decision in monitoring identification."
    )
    monitoring_notice_days: int = setting(
        default=5, description="Minimum days of village notice for a monitored household."
    )
    funds_notice_days: int = setting(
        default=10, ge=10,
        description="Days the list of a project's payments is posted in public (公示); at "
        "least 10.",
    )
    echo_sql: bool = setting(default=False, description="Log every SQL statement (debugging).")
    # The web application (tuopin serve).
    host: str = setting(default="127.0.0.1", description="Address the web application listens on.")
    port: int = setting(default=8000, description="Port the web application listens on.")
    secret_key: SecretStr | None = setting(
        default=None,
        description="Key that signs session cookies; unset, a random key is made at every "
        "start (a warning is printed, and everyone is logged out by a restart).",
    )
    metrics_token: SecretStr | None = setting(
        default=None,
        description="Token a Prometheus scrape of /metrics must send (Authorization: Bearer "
        "<token>); unset, /metrics answers only clients on this machine. Set it behind "
        "nginx: proxied requests come from this machine too.",
    )
    session_max_age: int = setting(
        default=8 * 3600, ge=60,
        description="Seconds a login lasts at most, however busy (the absolute limit).",
    )
    session_idle_seconds: int = setting(
        default=1800, ge=60,
        description="Seconds without a request after which a login ends (the idle limit).",
    )
    cookie_secure: bool = setting(
        default=False,
        description="Send the session cookie over HTTPS only (the Secure flag): set it when "
        "tuopin is served over HTTPS (behind a TLS proxy).",
    )
    public_url: str | None = setting(
        default=None,
        description="The address users open, e.g. https://tuopin.example.gov.cn (`tuopin "
        "doctor` checks the cookie's Secure flag against it).",
    )
    login_max_failures: int = setting(
        default=5, ge=1,
        description="Failed logins allowed per username (from any address) in the window.",
    )
    login_max_failures_per_address: int = setting(
        default=10, ge=1,
        description="Failed logins allowed per client address (against any username) in the "
        "window: one address cannot try a password on every account.",
    )
    probe_max: int = setting(
        default=10, ge=1,
        description="Registrations or imported rows a user may have collide with records "
        "outside their region in the probe window before such entries are refused.",
    )
    probe_window_seconds: int = setting(
        default=86_400, ge=60, description="The window of the probe limit (seconds)."
    )
    reveal_max: int = setting(
        default=100, ge=1,
        description="Masked numbers a user may reveal per day (each reveal is recorded).",
    )
    id_search_max: int = setting(
        default=30, ge=1,
        description="Searches by a full ID number per hour by a user who sees ID numbers "
        "masked (each is recorded: a match confirms a masked number).",
    )
    upload_max_rows: int = setting(
        default=100_000, ge=1,
        description="Rows an import file uploaded through the web may have (larger files: "
        "`tuopin import` on the server).",
    )
    upload_max_unpacked_bytes: int = setting(
        default=100_000_000, ge=1,
        description="Bytes an uploaded XLSX workbook may unpack to.",
    )
    upload_retention_seconds: int = setting(
        default=86_400, ge=60,
        description="Seconds an upload that was neither imported nor cancelled is kept.",
    )
    login_window_seconds: int = setting(
        default=900, description="The window of the login rate limit (seconds)."
    )
    workers: int = setting(
        default=2, ge=1,
        description="Worker processes of tuopin serve (one per core is a good start).",
    )
    web_threads: int = setting(
        default=4, ge=1,
        description="Requests each web worker works on at once (its thread pool). Python "
        "runs one thread at a time: more threads make every page slower, not more pages.",
    )
    keepalive_requests: int = setting(
        default=100, ge=0,
        description="A browser's connection is closed after about this many requests (0: "
        "never), so that connections spread over the workers again, as nginx does.",
    )
    db_pool_size: int = setting(
        default=20, ge=1,
        description="Database connections each web worker keeps open (PostgreSQL).",
    )
    forwarded_allow_ips: str = setting(
        default="127.0.0.1",
        description="Addresses of the reverse proxies (nginx) whose X-Forwarded-For and "
        "X-Forwarded-Proto headers are believed, comma-separated: behind them the login "
        "limits and the audit trail see each client's own address.",
    )
    worker_concurrency: int = setting(
        default=1, ge=1,
        description="Jobs `tuopin worker` runs at once (imports, exports, assessment runs). "
        "On SQLite one job writes at a time whatever this is.",
    )
    job_lease_seconds: int = setting(
        default=60, ge=2,
        description="Seconds a job stays claimed by a worker that stopped renewing its claim: "
        "after that another worker takes the job up again (its worker is deemed dead).",
    )
    dashboard_cache_seconds: int = setting(
        default=30, ge=0,
        description="Seconds a worker reuses a region's registry and workflow counts on the "
        "dashboard (0: count on every request); poverty figures come from the run's roll-up.",
    )
    api_rate: float = setting(
        default=20.0, gt=0,
        description="Requests per second each API token may make, on average, per web worker.",
    )
    api_burst: int = setting(
        default=200, ge=1,
        description="Requests an API token may make at once above its rate before it gets 429.",
    )
    api_page_max: int = setting(
        default=1000, ge=1, description="The most records one page of an API list returns.",
    )


    def __init__(self, **given: Any) -> None:
        unknown = set(given) - {f.name for f in fields(self)}
        if unknown:
            raise TypeError(f"unknown settings: {', '.join(sorted(unknown))}")
        environ = {k.upper(): v for k, v in os.environ.items() if k.upper().startswith(PREFIX)}
        for item in fields(self):
            variable = PREFIX + item.name.upper()
            if item.name in given:
                raw = given[item.name]
            elif variable in environ:
                raw = environ[variable]
            else:
                raw = item.default
            object.__setattr__(self, item.name, _valid(item, _types()[item.name], raw,
                                                       variable))

    def model_copy(self, *, update: Mapping[str, Any] | None = None) -> Settings:
        """These settings with some changed (values as given: no environment is read)."""
        return replace(self, **(update or {}))

    def model_dump(self) -> dict[str, Any]:
        """Every setting's value (secrets as SecretStr)."""
        return {item.name: getattr(self, item.name) for item in fields(self)}


@cache
def _types() -> dict[str, Any]:
    return get_type_hints(Settings, {**globals(), "SecretStr": SecretStr, "Path": Path})


def _valid(item: Field[Any], kind: Any, raw: Any, variable: str) -> Any:
    """``raw`` (text from the environment, or a value given in code) as the setting's type,
    within its bounds."""
    optional = isinstance(kind, UnionType) and NoneType in get_args(kind)
    if optional:
        kind = next(k for k in get_args(kind) if k is not NoneType)
    if raw is None or (optional and raw == ""):
        if optional:
            return None
        raise ConfigurationError(f"{variable} must be set")
    try:
        value = _converted(kind, raw)
    except (TypeError, ValueError):
        raise ConfigurationError(f"{variable}={raw!r} is not a valid "
                                 f"{getattr(kind, '__name__', kind)}") from None
    ge, gt = item.metadata.get("ge"), item.metadata.get("gt")
    if ge is not None and value < ge:
        raise ConfigurationError(f"{variable} must be at least {ge} (got {value})")
    if gt is not None and value <= gt:
        raise ConfigurationError(f"{variable} must be more than {gt} (got {value})")
    return value


def _converted(kind: Any, raw: Any) -> Any:
    if isinstance(raw, kind):
        return raw
    if kind is bool:
        text = str(raw).strip().lower()
        if text in _TRUE | _FALSE:
            return text in _TRUE
        raise ValueError(raw)
    if kind is int:
        if isinstance(raw, float) and not raw.is_integer():
            raise ValueError(raw)
        return int(str(raw).strip()) if isinstance(raw, str) else int(raw)
    if kind is SecretStr:
        return SecretStr(str(raw))
    if kind in (str, float, Path):
        return kind(raw)
    raise TypeError(kind)


def settings_help() -> dict[str, str]:
    """Every setting's environment variable and its help text (the docs test reads this)."""
    return {f"{PREFIX}{item.name.upper()}": item.metadata["description"]
            for item in fields(Settings)}
