"""Asyncio client and data models for the ChargeNow cloud API."""

from __future__ import annotations

from .client import (
    DEFAULT_BASE_URL,
    DEFAULT_PAGE_SIZE,
    DEFAULT_RETRY_DELAYS,
    DEFAULT_TIMEOUT,
    ChargeNowClient,
    EjectMode,
    Operation,
)
from .exceptions import (
    ChargeNowApiError,
    ChargeNowAuthError,
    ChargeNowCommandUnknownError,
    ChargeNowConnectionError,
    ChargeNowError,
    ChargeNowRateLimitError,
    ChargeNowResponseError,
    ChargeNowTimeoutError,
)
from .models import Battery, Cabinet, EventSubscription, PushConfig

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_PAGE_SIZE",
    "DEFAULT_RETRY_DELAYS",
    "DEFAULT_TIMEOUT",
    "Battery",
    "Cabinet",
    "ChargeNowApiError",
    "ChargeNowAuthError",
    "ChargeNowClient",
    "ChargeNowCommandUnknownError",
    "ChargeNowConnectionError",
    "ChargeNowError",
    "ChargeNowRateLimitError",
    "ChargeNowResponseError",
    "ChargeNowTimeoutError",
    "EjectMode",
    "EventSubscription",
    "Operation",
    "PushConfig",
]
