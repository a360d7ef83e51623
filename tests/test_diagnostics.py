"""Tests that diagnostics carry no credentials, webhook ids, URLs or addresses."""

from __future__ import annotations

from collections.abc import AsyncIterator
import json
from typing import Any

from homeassistant.const import CONF_PASSWORD, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.bajie_charging.config_flow import account_unique_id
from custom_components.bajie_charging.const import (
    CONF_BASE_URL,
    CONF_PREVIOUS_PUSH_CONFIG,
    CONF_PUSH_URL,
    CONF_REGISTER_PUSH,
    CONF_WEBHOOK_ID,
    DOMAIN,
)
from simulator import Simulator

# Values distinctive enough that finding them anywhere in the output can only
# mean a leak.
USERNAME = "diag-operator-5521"
PASSWORD = "pw-9f3a-not-for-logs"
WEBHOOK_ID = "5a7c1e0d9b3f4e21" * 4
PUSH_URL = f"https://ha.example.net/api/webhook/{WEBHOOK_ID}"
OTHER_PUSH_URL = "https://other-receiver.example.org/hooks/3141"
PUSHED_CLIENT_IP = "203.0.113.199"


@pytest.fixture
async def simulator(socket_enabled: None) -> AsyncIterator[Simulator]:
    """Run a simulated cloud for the distinctive agent account."""
    sim = Simulator(cabinets=3, slots=8, username=USERNAME, password=PASSWORD, seed=3)
    await sim.start(host="127.0.0.1", port=0)
    yield sim
    await sim.stop()


@pytest.fixture
async def loaded_entry(hass: HomeAssistant, simulator: Simulator) -> MockConfigEntry:
    """Set up an entry that registered its push URL over another receiver's."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        title=USERNAME,
        unique_id=account_unique_id(USERNAME, simulator.base_url),
        data={
            CONF_USERNAME: USERNAME,
            CONF_PASSWORD: PASSWORD,
            CONF_BASE_URL: simulator.base_url,
            CONF_REGISTER_PUSH: True,
            CONF_WEBHOOK_ID: WEBHOOK_ID,
            CONF_PUSH_URL: PUSH_URL,
            CONF_PREVIOUS_PUSH_CONFIG: {
                "pushUrl": OTHER_PUSH_URL,
                "eventSubscriptions": [
                    {
                        "event": "CABINET_STATUS",
                        "pushUrl": OTHER_PUSH_URL,
                        "enable": True,
                    }
                ],
            },
        },
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert await async_setup_component(hass, "diagnostics", {})
    await hass.async_block_till_done()
    return entry


def _secrets(simulator: Simulator) -> list[str]:
    """Return every value that must not appear in diagnostics."""
    cabinet_ips = [cabinet.ip for cabinet in simulator.cabinets.values()]
    assert all(cabinet_ips)
    return [
        PASSWORD,
        USERNAME,
        WEBHOOK_ID,
        PUSH_URL,
        OTHER_PUSH_URL,
        PUSHED_CLIENT_IP,
        simulator.base_url,
        *cabinet_ips,
    ]


async def _download(
    hass_client: ClientSessionGenerator, path: str
) -> tuple[str, dict[str, Any]]:
    """Download diagnostics as the frontend does; return the text and its data."""
    client = await hass_client()
    response = await client.get(path)
    assert response.status == 200
    text = await response.text()
    return text, json.loads(text)["data"]


async def _push_client_ip(
    hass: HomeAssistant,
    hass_client_no_auth: ClientSessionGenerator,
    simulator: Simulator,
) -> None:
    """Send a status push that carries a client IP address."""
    body = simulator.build_push(
        simulator.cabinet_ids[0], "CABINET_STATUS", clientIp=PUSHED_CLIENT_IP
    )
    client = await hass_client_no_auth()
    response = await client.post(f"/api/webhook/{WEBHOOK_ID}", json=body)
    assert response.status == 200
    await hass.async_block_till_done()


async def test_entry_diagnostics_redacted(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: Simulator,
    hass_client: ClientSessionGenerator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Entry diagnostics list every cabinet and none of the secrets."""
    await _push_client_ip(hass, hass_client_no_auth, simulator)

    text, data = await _download(
        hass_client, f"/api/diagnostics/config_entry/{loaded_entry.entry_id}"
    )

    assert set(data["cabinets"]) == set(simulator.cabinet_ids)
    assert data["coordinator"]["last_update_success"] is True
    assert data["coordinator"]["last_push"] is not None
    assert data["entry"]["data"][CONF_PASSWORD] == "**REDACTED**"
    assert data["entry"]["data"][CONF_WEBHOOK_ID] == "**REDACTED**"
    assert data["uses_default_server"] is False
    for secret in _secrets(simulator):
        assert secret not in text, secret


async def test_device_diagnostics_redacted(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: Simulator,
    hass_client: ClientSessionGenerator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Each cabinet's diagnostics describe it and contain none of the secrets."""
    await _push_client_ip(hass, hass_client_no_auth, simulator)
    devices = [
        device
        for device in dr.async_entries_for_config_entry(
            dr.async_get(hass), loaded_entry.entry_id
        )
        if device.id != loaded_entry.runtime_data.coordinator.account_device_id
    ]
    assert len(devices) == len(simulator.cabinet_ids)

    for device in devices:
        text, data = await _download(
            hass_client,
            f"/api/diagnostics/config_entry/{loaded_entry.entry_id}/device/{device.id}",
        )

        assert (DOMAIN, data["cabinet_id"]) in device.identifiers
        assert data["in_fleet"] is True
        assert data["cabinet"]["cabinet_id"] == data["cabinet_id"]
        for secret in _secrets(simulator):
            assert secret not in text, secret
