"""Errors raised by the ChargeNow cloud client."""

from __future__ import annotations


class ChargeNowError(Exception):
    """Base class of every error the client raises."""


class ChargeNowAuthError(ChargeNowError):
    """The cloud rejected the agent credentials."""


class ChargeNowConnectionError(ChargeNowError):
    """The cloud could not be reached, or replied with a server error."""


class ChargeNowTimeoutError(ChargeNowConnectionError):
    """The cloud sent no reply within the client's timeout."""


class ChargeNowRateLimitError(ChargeNowConnectionError):
    """HTTP 429 from the cloud; retry_after is the Retry-After in seconds, or None."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        """Store the delay the cloud asked for."""
        super().__init__(message)
        self.retry_after = retry_after


class ChargeNowApiError(ChargeNowError):
    """The cloud replied with a non-zero business code."""

    def __init__(self, code: int | None, message: str) -> None:
        """Store the business code and the cloud's message."""
        super().__init__(f"cloud returned code {code}: {message}")
        self.code = code
        self.message = message


class ChargeNowResponseError(ChargeNowError):
    """The cloud's reply was not the expected JSON envelope."""


class ChargeNowCommandUnknownError(ChargeNowError):
    """A command was sent but no reply came, so its outcome is unknown.

    The cabinet may have acted on it. Callers must not resend the command.
    """
