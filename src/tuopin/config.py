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
    echo_sql: bool = Field(default=False, description="Log every SQL statement (debugging).")
    # The web application (tuopin serve).
    host: str = Field(default="127.0.0.1", description="Address the web application listens on.")
    port: int = Field(default=8000, description="Port the web application listens on.")
    secret_key: SecretStr | None = Field(
        default=None,
        description="Key that signs session cookies; unset, a random key is made at every "
        "start (a warning is printed, and everyone is logged out by a restart).",
    )
    session_max_age: int = Field(
        default=8 * 3600, description="Seconds a login lasts (the session cookie's age)."
    )
    cookie_secure: bool = Field(
        default=False,
        description="Send the session cookie over HTTPS only (set it behind a TLS proxy).",
    )
    login_max_failures: int = Field(
        default=5, description="Failed logins allowed per username and address in the window."
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
    dashboard_cache_seconds: int = Field(
        default=30, ge=0,
        description="Seconds a worker reuses a region's registry and workflow counts on the "
        "dashboard (0: count on every request); poverty figures come from the run's roll-up.",
    )


def settings_help() -> dict[str, str]:
    """Every setting's environment variable and its help text (the docs test reads this)."""
    return {
        f"TUOPIN_{name.upper()}": field.description or ""
        for name, field in Settings.model_fields.items()
    }
