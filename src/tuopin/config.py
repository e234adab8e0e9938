"""Settings, declared as data with help text; built once by the CLI or create_app()."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DB_PATH = Path("var/tuopin.db")


class Settings(BaseSettings):
    """tuopin's configuration, read from ``TUOPIN_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="TUOPIN_", extra="ignore")

    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_DB_PATH}",
        description="SQLAlchemy URL of the store: a SQLite file (default) or "
        "postgresql+psycopg://user@host/db.",
    )
    lang: str = Field(default="zh", description="Default language of messages: zh or en.")
    data_dir: Path = Field(
        default=Path("var"), description="Where evidence files and snapshots are kept."
    )
    evidence_max_bytes: int = Field(
        default=10_000_000, description="Largest evidence file accepted (bytes)."
    )
    exit_notice_days: int = Field(
        default=7, description="Length of the public notice (公示) before a household exits."
    )
    exit_in_identification_year: bool = Field(
        default=False,
        description="Allow a household to exit in the year it was identified (local rule: no).",
    )
    monitoring_deadline_days: int = Field(
        default=15, description="Days from proposal to decision in monitoring identification."
    )
    monitoring_notice_days: int = Field(
        default=5, description="Minimum days of village notice for a monitored household."
    )
    funds_notice_days: int = Field(
        default=10, ge=10,
        description="Days the list of a project's payments is posted in public (公示); at "
        "least 10.",
    )
    echo_sql: bool = Field(default=False, description="Log every SQL statement (debugging).")
    # The web application (tuopin serve).
    host: str = Field(default="127.0.0.1", description="Address the web application listens on.")
    port: int = Field(default=8000, description="Port the web application listens on.")
    secret_key: SecretStr | None = Field(
        default=None,
        description="Key that signs session cookies; unset, a random key is made at every "
        "start (a warning is printed, and everyone is logged out by a restart).",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Token a Prometheus scrape of /metrics must send (Authorization: Bearer "
        "<token>); unset, /metrics answers only clients on this machine. Set it behind "
        "nginx: proxied requests come from this machine too.",
    )
    session_max_age: int = Field(
        default=8 * 3600, ge=60,
        description="Seconds a login lasts at most, however busy (the absolute limit).",
    )
    session_idle_seconds: int = Field(
        default=1800, ge=60,
        description="Seconds without a request after which a login ends (the idle limit).",
    )
    cookie_secure: bool = Field(
        default=False,
        description="Send the session cookie over HTTPS only (the Secure flag): set it when "
        "tuopin is served over HTTPS (behind a TLS proxy).",
    )
    public_url: str | None = Field(
        default=None,
        description="The address users open, e.g. https://tuopin.example.gov.cn (`tuopin "
        "doctor` checks the cookie's Secure flag against it).",
    )
    login_max_failures: int = Field(
        default=5, ge=1,
        description="Failed logins allowed per username (from any address) in the window.",
    )
    login_max_failures_per_address: int = Field(
        default=10, ge=1,
        description="Failed logins allowed per client address (against any username) in the "
        "window: one address cannot try a password on every account.",
    )
    probe_max: int = Field(
        default=10, ge=1,
        description="Registrations or imported rows a user may have collide with records "
        "outside their region in the probe window before such entries are refused.",
    )
    probe_window_seconds: int = Field(
        default=86_400, ge=60, description="The window of the probe limit (seconds)."
    )
    reveal_max: int = Field(
        default=100, ge=1,
        description="Masked numbers a user may reveal per day (each reveal is recorded).",
    )
    id_search_max: int = Field(
        default=30, ge=1,
        description="Searches by a full ID number per hour by a user who sees ID numbers "
        "masked (each is recorded: a match confirms a masked number).",
    )
    upload_max_rows: int = Field(
        default=100_000, ge=1,
        description="Rows an import file uploaded through the web may have (larger files: "
        "`tuopin import` on the server).",
    )
    upload_max_unpacked_bytes: int = Field(
        default=100_000_000, ge=1,
        description="Bytes an uploaded XLSX workbook may unpack to.",
    )
    upload_retention_seconds: int = Field(
        default=86_400, ge=60,
        description="Seconds an upload that was neither imported nor cancelled is kept.",
    )
    login_window_seconds: int = Field(
        default=900, description="The window of the login rate limit (seconds)."
    )
    workers: int = Field(
        default=2, ge=1,
        description="Worker processes of tuopin serve (one per core is a good start).",
    )
    web_threads: int = Field(
        default=4, ge=1,
        description="Requests each web worker works on at once (its thread pool). Python "
        "runs one thread at a time: more threads make every page slower, not more pages.",
    )
    keepalive_requests: int = Field(
        default=100, ge=0,
        description="A browser's connection is closed after about this many requests (0: "
        "never), so that connections spread over the workers again, as nginx does.",
    )
    db_pool_size: int = Field(
        default=20, ge=1,
        description="Database connections each web worker keeps open (PostgreSQL).",
    )
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="Addresses of the reverse proxies (nginx) whose X-Forwarded-For and "
        "X-Forwarded-Proto headers are believed, comma-separated: behind them the login "
        "limits and the audit trail see each client's own address.",
    )
    worker_concurrency: int = Field(
        default=1, ge=1,
        description="Jobs `tuopin worker` runs at once (imports, exports, assessment runs). "
        "On SQLite one job writes at a time whatever this is.",
    )
    job_lease_seconds: int = Field(
        default=60, ge=2,
        description="Seconds a job stays claimed by a worker that stopped renewing its claim: "
        "after that another worker takes the job up again (its worker is deemed dead).",
    )
    dashboard_cache_seconds: int = Field(
        default=30, ge=0,
        description="Seconds a worker reuses a region's registry and workflow counts on the "
        "dashboard (0: count on every request); poverty figures come from the run's roll-up.",
    )
    api_rate: float = Field(
        default=20.0, gt=0,
        description="Requests per second each API token may make, on average, per web worker.",
    )
    api_burst: int = Field(
        default=200, ge=1,
        description="Requests an API token may make at once above its rate before it gets 429.",
    )
    api_page_max: int = Field(
        default=1000, ge=1, description="The most records one page of an API list returns.",
    )


def settings_help() -> dict[str, str]:
    """Every setting's environment variable and its help text (the docs test reads this)."""
    return {
        f"TUOPIN_{name.upper()}": field.description or ""
        for name, field in Settings.model_fields.items()
    }
