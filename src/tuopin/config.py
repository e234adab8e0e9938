"""Settings, declared as data with help text; built once by the CLI or create_app()."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
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


def settings_help() -> dict[str, str]:
    """Every setting's environment variable and its help text (the docs test reads this)."""
    return {
        f"TUOPIN_{name.upper()}": field.description or ""
        for name, field in Settings.model_fields.items()
    }
