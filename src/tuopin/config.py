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
    echo_sql: bool = Field(default=False, description="Log every SQL statement (debugging).")


def settings_help() -> dict[str, str]:
    """Every setting's environment variable and its help text (the docs test reads this)."""
    return {
        f"TUOPIN_{name.upper()}": field.description or ""
        for name, field in Settings.model_fields.items()
    }
