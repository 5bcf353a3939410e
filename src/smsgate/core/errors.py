"""Errors a user can act on.

Every error carries one line that says what is wrong and what to do, and the exit code the CLI
uses for it. Nothing here ever formats a secret: callers pass masked values only.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


class SmsgateError(Exception):
    """Base of every error smsgate raises on purpose."""

    exit_code: int = EXIT_FAILED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidInput(SmsgateError):
    """The request as a whole is unusable: nothing was sent."""

    exit_code = EXIT_BAD_INPUT


class InvalidSender(InvalidInput):
    pass


class InvalidText(InvalidInput):
    pass


class NoRecipients(InvalidInput):
    pass


class ConfigurationError(InvalidInput):
    """The DSN or the environment does not say how to reach a provider."""


class Unsupported(InvalidInput):
    """The provider cannot do this at all: nothing was tried. The message names those that can."""


class ProviderError(SmsgateError):
    """The provider answered with a refusal or something we could not read."""
