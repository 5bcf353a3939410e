"""The runtime's own errors: one line that says what is wrong and what to do.

The runtime knows nothing about SMS, so it does not share the gateway's error tree; an error
that carries a one-line ``message`` (these, and the component's own) is shown to the platform
without a stack, which would only bury that line.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_SETUP = 2


class SailorError(Exception):
    """Base of every error the runtime raises on purpose."""

    exit_code: int = EXIT_FAILED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigurationError(SailorError):
    """The environment or component.json is incomplete or wrong: nothing was run."""

    exit_code = EXIT_BAD_SETUP


def says_what_to_do(error: BaseException) -> bool:
    """True for errors written for a person (a ``message`` of one line), not a bug's trace."""
    return isinstance(getattr(error, "message", None), str)
