"""Errors a user can act on.

Every error carries one line that says what is wrong and what to do; the faces decide what it
becomes (the CLI's exit codes, the API's HTTP statuses). Nothing here ever formats a secret:
callers pass masked values only.
"""

from __future__ import annotations


class SmsgateError(Exception):
    """Base of every error smsgate raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidInput(SmsgateError):
    """The request as a whole is unusable: nothing was sent."""


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
