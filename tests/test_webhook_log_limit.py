"""Tests of the push webhook's rate-limited warnings over a quiet interval."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
import logging
from typing import Any

from aiohttp.test_utils import TestClient
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.bajie_charging.webhook import LOG_INTERVAL_SECONDS

from .conftest import WEBHOOK_ID

WEBHOOK_PATH = f"/api/webhook/{WEBHOOK_ID}"

type ClientFactory = Callable[[], Awaitable[TestClient[Any, Any]]]


def _our_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("custom_components.bajie_charging")
        and record.levelno >= logging.WARNING
    ]


async def test_suppressed_warnings_counted_later(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client_no_auth: ClientFactory,
    caplog: pytest.LogCaptureFixture,
    freezer: FrozenDateTimeFactory,
) -> None:
    """The next warning after the quiet interval reports how many were left out."""
    client = await hass_client_no_auth()
    for _ in range(4):
        response = await client.post(WEBHOOK_PATH, data=b"not json")
        assert response.status == 400
    assert len(_our_warnings(caplog)) == 1

    freezer.tick(timedelta(seconds=LOG_INTERVAL_SECONDS + 1))
    response = await client.post(WEBHOOK_PATH, data=b"not json")

    assert response.status == 400
    warnings = _our_warnings(caplog)
    assert len(warnings) == 2
    assert "(3 similar requests not logged)" in warnings[1]
    assert WEBHOOK_ID not in warnings[1]


async def test_counter_restarts_after_report(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_client_no_auth: ClientFactory,
    caplog: pytest.LogCaptureFixture,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A warning after a quiet interval without repeats mentions no count."""
    client = await hass_client_no_auth()
    await client.post(WEBHOOK_PATH, data=b"not json")
    await client.post(WEBHOOK_PATH, data=b"not json")
    freezer.tick(timedelta(seconds=LOG_INTERVAL_SECONDS + 1))
    await client.post(WEBHOOK_PATH, data=b"not json")
    freezer.tick(timedelta(seconds=LOG_INTERVAL_SECONDS + 1))
    await client.post(WEBHOOK_PATH, data=b"not json")

    warnings = _our_warnings(caplog)
    assert len(warnings) == 3
    assert "similar requests" in warnings[1]
    assert "similar requests" not in warnings[2]
