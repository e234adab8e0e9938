"""The one error tree: only the CLI and web/errors.py map it to exit codes or HTTP."""

from __future__ import annotations


class TuopinError(Exception):
    """Base of every error tuopin raises on purpose."""


class NotFound(TuopinError):
    """A record that was asked for does not exist (or is outside the caller's scope)."""


class PermissionDenied(TuopinError):
    """The caller may not do this."""


class ValidationFailed(TuopinError):
    """Input broke a rule; ``problems`` lists every one that was found."""

    def __init__(self, message: str, problems: list | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class Conflict(TuopinError):
    """Someone else saved the record first (optimistic locking) or a unique key clashed."""


class UnsupportedRule(TuopinError):
    """A standard's rule uses a node the compiler cannot translate."""


class ConfigurationError(TuopinError):
    """Settings or files tuopin needs are missing or malformed."""
