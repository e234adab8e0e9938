"""Settings come from TUOPIN_* variables: a value given in code wins over the environment,
which wins over the default; a bad value names its variable; secrets never print."""

from __future__ import annotations

from pathlib import Path

import pytest

from tuopin.config import SecretStr, Settings, settings_help
from tuopin.domain.errors import ConfigurationError


def test_the_environment_overrides_defaults_and_code_overrides_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUOPIN_WORKERS", "3")
    monkeypatch.setenv("tuopin_data_dir", "/srv/tuopin")  # names in any case
    monkeypatch.setenv("TUOPIN_NOT_A_SETTING", "ignored")
    read = Settings()
    assert (read.workers, read.data_dir, read.lang) == (3, Path("/srv/tuopin"), "zh")
    assert Settings(workers=5).workers == 5


@pytest.mark.parametrize(("text", "value"), [("true", True), ("1", True), ("On", True),
                                             ("false", False), ("0", False), ("no", False)])
def test_switches_read_the_usual_spellings(monkeypatch: pytest.MonkeyPatch, text: str,
                                           value: bool) -> None:
    monkeypatch.setenv("TUOPIN_COOKIE_SECURE", text)
    assert Settings().cookie_secure is value


@pytest.mark.parametrize(("variable", "text", "says"), [
    ("TUOPIN_COOKIE_SECURE", "maybe", "TUOPIN_COOKIE_SECURE='maybe' is not a valid bool"),
    ("TUOPIN_WORKERS", "two", "TUOPIN_WORKERS='two' is not a valid int"),
    ("TUOPIN_WORKERS", "0", "TUOPIN_WORKERS must be at least 1 (got 0)"),
    ("TUOPIN_FUNDS_NOTICE_DAYS", "7", "at least 10"),  # 公示 lasts 10 days at least
    ("TUOPIN_API_RATE", "0", "TUOPIN_API_RATE must be more than 0"),
])
def test_a_bad_value_is_refused_by_its_variables_name(
        monkeypatch: pytest.MonkeyPatch, variable: str, text: str, says: str) -> None:
    monkeypatch.setenv(variable, text)
    with pytest.raises(ConfigurationError, match=says.replace("(", r"\(").replace(")", r"\)")):
        Settings()


def test_a_secret_never_prints_and_an_empty_one_is_unset(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUOPIN_SECRET_KEY", "s3cret-key-of-the-county-office")
    monkeypatch.setenv("TUOPIN_METRICS_TOKEN", "")
    read = Settings()
    assert isinstance(read.secret_key, SecretStr) and read.metrics_token is None
    assert read.secret_key.get_secret_value() == "s3cret-key-of-the-county-office"
    assert "s3cret" not in repr(read) and "s3cret" not in str(read.secret_key)


def test_a_copy_with_changes_keeps_the_rest_and_checks_the_change() -> None:
    read = Settings(workers=4)
    changed = read.model_copy(update={"secret_key": "another-key"})
    assert changed.workers == 4 and changed.secret_key == SecretStr("another-key")
    assert Settings(**changed.model_dump()) == changed
    with pytest.raises(ConfigurationError):
        read.model_copy(update={"workers": 0})
    with pytest.raises(TypeError, match="unknown settings: wokers"):
        Settings(wokers=2)


def test_every_setting_has_its_variable_and_help() -> None:
    described = settings_help()
    assert "TUOPIN_DATABASE_URL" in described and all(described.values())
