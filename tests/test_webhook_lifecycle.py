"""Tests of the push webhook while its config entry is not loaded.

The webhook stays registered from the entry's first setup until the entry is
removed. While the entry is not loaded, a valid push gets HTTP 503, so a
sender that retries on errors can send it again, and nothing is logged with
the webhook id.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from http import HTTPStatus
import json
import logging
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient
from homeassistant.components.webhook import async_register as register_webhook
from homeassistant.config_entries import ConfigEntryDisabler, ConfigEntryState
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.bajie_charging.const import (
    CONF_WEBHOOK_ID,
    DOMAIN,
    EVENT_CABINET,
)
from simulator import FaultRule, Simulator

from .conftest import USERNAME, WEBHOOK_ID, make_config_entry

type ClientFactory = Callable[[], Awaitable[TestClient[Any, Any]]]

WEBHOOK_PATH = f"/api/webhook/{WEBHOOK_ID}"
LISTING_PATH = "/cabinet/getAllDevicePage"
NOT_READY_BODY = {"code": 503, "msg": "not ready"}
WEBHOOK_LOGGER = "custom_components.bajie_charging.webhook"
OTHER_WEBHOOK_ID = "fedcba9876543210" * 4


def capture_every_level(caplog: pytest.LogCaptureFixture) -> None:
    """Capture every level, so that no message with the webhook id goes unseen."""
    # Home Assistant's bootstrap sets this level too. The access log's INFO
    # line contains the request path, webhook id included.
    caplog.set_level(logging.WARNING, logger="aiohttp.access")
    # Called last, because set_level also sets the capturing handler's level.
    caplog.set_level(logging.DEBUG)


def status_push(simulator: Simulator) -> dict[str, Any]:
    """Return a valid CABINET_STATUS push for the first simulated cabinet."""
    return {
        "agentAccount": USERNAME,
        "event": "CABINET_STATUS",
        "timestamp": "2026-12-04 15:04:05",
        "eventData": {"cabinetId": simulator.cabinet_ids[0], "signal": 17},
    }


def messages_with_id(caplog: pytest.LogCaptureFixture, webhook_id: str) -> list[str]:
    """Return the log messages above debug level that contain a webhook id."""
    return [
        f"{record.name}: {record.getMessage()}"
        for record in caplog.records
        if record.levelno > logging.DEBUG and webhook_id in record.getMessage()
    ]


def not_loaded_messages(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Return the webhook's records about a push for an entry not loaded."""
    return [
        record
        for record in caplog.records
        if record.name == WEBHOOK_LOGGER and "not loaded" in record.getMessage()
    ]


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Return the messages logged at error level or above."""
    return [
        record.getMessage()
        for record in caplog.records
        if record.levelno >= logging.ERROR
    ]


async def listed_webhooks(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator
) -> dict[str, dict[str, Any]]:
    """Return Home Assistant's registered webhooks by id, as the UI lists them."""
    ws_client = await hass_ws_client(hass)
    await ws_client.send_json({"id": 1, "type": "webhook/list"})
    message = await ws_client.receive_json()
    assert message["success"]
    return {item["webhook_id"]: item for item in message["result"]}


async def test_push_during_reload_gets_503(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: Simulator,
    hass_client_no_auth: ClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A push while the entry reloads gets 503, and one after it is applied."""
    capture_every_level(caplog)
    events = async_capture_events(hass, EVENT_CABINET)
    client = await hass_client_no_auth()
    simulator.add_fault(FaultRule(path=LISTING_PATH, delay=0.5, times=1))
    reload = hass.async_create_task(
        hass.config_entries.async_reload(loaded_entry.entry_id)
    )
    await asyncio.sleep(0.2)
    assert loaded_entry.state is ConfigEntryState.SETUP_IN_PROGRESS

    response = await client.post(WEBHOOK_PATH, json=status_push(simulator))

    assert response.status == 503
    assert await response.json() == NOT_READY_BODY
    assert events == []
    assert messages_with_id(caplog, WEBHOOK_ID) == []

    assert await reload
    response = await client.post(WEBHOOK_PATH, json=status_push(simulator))
    await hass.async_block_till_done()

    assert response.status == 200
    assert len(events) == 1


async def test_push_during_setup_retry_gets_503(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    simulator: Simulator,
    hass_client_no_auth: ClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A push while Home Assistant waits to retry the setup gets 503."""
    capture_every_level(caplog)
    simulator.add_fault(
        FaultRule(path=LISTING_PATH, business_error=(2004, "Device not online."))
    )
    config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert config_entry.state is ConfigEntryState.SETUP_RETRY

    client = await hass_client_no_auth()
    response = await client.post(WEBHOOK_PATH, json=status_push(simulator))

    assert response.status == 503
    assert await response.json() == NOT_READY_BODY
    assert messages_with_id(caplog, WEBHOOK_ID) == []


async def test_push_to_disabled_entry_gets_503(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: Simulator,
    hass_client_no_auth: ClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Pushes to a disabled entry get 503 and one debug message in all."""
    capture_every_level(caplog)
    assert await hass.config_entries.async_set_disabled_by(
        loaded_entry.entry_id, ConfigEntryDisabler.USER
    )
    await hass.async_block_till_done()
    assert loaded_entry.state is ConfigEntryState.NOT_LOADED

    client = await hass_client_no_auth()
    for _ in range(3):
        response = await client.post(WEBHOOK_PATH, json=status_push(simulator))
        assert response.status == 503
        assert await response.json() == NOT_READY_BODY

    assert messages_with_id(caplog, WEBHOOK_ID) == []
    logged = not_loaded_messages(caplog)
    assert len(logged) == 1
    assert logged[0].levelno == logging.DEBUG


async def test_disabled_entry_served_at_start(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    simulator: Simulator,
    hass_client_no_auth: ClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An entry disabled before start gets 503 once another entry sets up."""
    capture_every_level(caplog)
    disabled_entry = MockConfigEntry(
        domain=DOMAIN,
        title="disabled agent",
        unique_id="disabled agent",
        data={**config_entry.data, CONF_WEBHOOK_ID: OTHER_WEBHOOK_ID},
        disabled_by=ConfigEntryDisabler.USER,
    )
    disabled_entry.add_to_hass(hass)
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert disabled_entry.state is ConfigEntryState.NOT_LOADED

    client = await hass_client_no_auth()
    response = await client.post(
        f"/api/webhook/{OTHER_WEBHOOK_ID}", json=status_push(simulator)
    )

    assert response.status == 503
    assert await response.json() == NOT_READY_BODY
    assert messages_with_id(caplog, OTHER_WEBHOOK_ID) == []


async def test_webhook_listed_until_removal(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """The webhook keeps the entry's current title while disabled, then goes."""
    hass.config_entries.async_update_entry(loaded_entry, title="renamed agent")
    assert await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()

    listed = await listed_webhooks(hass, hass_ws_client)
    assert listed[WEBHOOK_ID]["domain"] == DOMAIN
    assert listed[WEBHOOK_ID]["name"] == "renamed agent"
    assert listed[WEBHOOK_ID]["allowed_methods"] == ["GET", "POST", "PUT"]
    assert listed[WEBHOOK_ID]["local_only"] is False

    assert await hass.config_entries.async_set_disabled_by(
        loaded_entry.entry_id, ConfigEntryDisabler.USER
    )
    await hass.async_block_till_done()

    assert WEBHOOK_ID in await listed_webhooks(hass, hass_ws_client)

    await hass.config_entries.async_remove(loaded_entry.entry_id)
    await hass.async_block_till_done()

    assert WEBHOOK_ID not in await listed_webhooks(hass, hass_ws_client)


async def test_entry_added_later_gets_webhook(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: Simulator,
    hass_client_no_auth: ClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An entry added after the integration set up is served while it retries."""
    capture_every_level(caplog)
    simulator.add_fault(
        FaultRule(path=LISTING_PATH, business_error=(2004, "Device not online."))
    )
    later_entry = MockConfigEntry(
        domain=DOMAIN,
        title="later agent",
        unique_id="later agent",
        data={**make_config_entry(simulator).data, CONF_WEBHOOK_ID: OTHER_WEBHOOK_ID},
    )
    later_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(later_entry.entry_id)
    await hass.async_block_till_done()
    assert later_entry.state is ConfigEntryState.SETUP_RETRY

    client = await hass_client_no_auth()
    response = await client.post(
        f"/api/webhook/{OTHER_WEBHOOK_ID}", json=status_push(simulator)
    )

    assert response.status == 503
    assert messages_with_id(caplog, OTHER_WEBHOOK_ID) == []


async def test_push_body_arriving_during_unload(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: Simulator,
    hass_client_no_auth: ClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A push whose body ends after the entry unloaded gets 503, no error."""
    capture_every_level(caplog)
    events = async_capture_events(hass, EVENT_CABINET)
    body = json.dumps(status_push(simulator)).encode()

    async def chunks() -> AsyncIterator[bytes]:
        yield body[:20]
        # Real time for the server to start the handler on the first chunk.
        await asyncio.sleep(0.05)
        assert await hass.config_entries.async_unload(loaded_entry.entry_id)
        yield body[20:]

    client = await hass_client_no_auth()
    response = await client.post(
        WEBHOOK_PATH, data=chunks(), headers={"Content-Type": "application/json"}
    )
    await hass.async_block_till_done()

    assert loaded_entry.state is ConfigEntryState.NOT_LOADED
    assert response.status == 503
    assert await response.json() == NOT_READY_BODY
    assert events == []
    assert errors(caplog) == []
    assert len(not_loaded_messages(caplog)) == 1


async def test_taken_webhook_id_fails_only_its_entry(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    simulator: Simulator,
    hass_client_no_auth: ClientFactory,
) -> None:
    """An entry whose webhook id another integration registered fails alone."""

    async def handle_elsewhere(
        hass: HomeAssistant, webhook_id: str, request: web.Request
    ) -> web.Response:
        return web.Response(status=HTTPStatus.ACCEPTED)

    register_webhook(hass, "other", "other", OTHER_WEBHOOK_ID, handle_elsewhere)
    clashing_entry = MockConfigEntry(
        domain=DOMAIN,
        title="clashing agent",
        unique_id="clashing agent",
        data={**config_entry.data, CONF_WEBHOOK_ID: OTHER_WEBHOOK_ID},
    )
    clashing_entry.add_to_hass(hass)
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()

    assert config_entry.state is ConfigEntryState.LOADED
    assert clashing_entry.state is ConfigEntryState.SETUP_ERROR

    await hass.config_entries.async_remove(clashing_entry.entry_id)
    await hass.async_block_till_done()
    client = await hass_client_no_auth()
    response = await client.post(
        f"/api/webhook/{OTHER_WEBHOOK_ID}", json=status_push(simulator)
    )

    assert response.status == HTTPStatus.ACCEPTED
