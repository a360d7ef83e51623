"""Tests of how the integration holds up when the cloud fails or misbehaves."""

from __future__ import annotations

from datetime import timedelta
import logging

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import CONF_PASSWORD, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.update_coordinator import UpdateFailed
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from yarl import URL

from custom_components.bajie_charging.api import (
    DEFAULT_RETRY_DELAYS,
    DEFAULT_TIMEOUT,
)
from custom_components.bajie_charging.api.client import MAX_RETRY_AFTER
from custom_components.bajie_charging.const import DOMAIN
from custom_components.bajie_charging.coordinator import BajieCoordinator
from simulator import FaultRule, Simulator

from .time_travel import advance_until

LISTING_PATH = "/cabinet/getAllDevicePage"
COORDINATOR_LOGGER = "custom_components.bajie_charging.coordinator"
# More empty listings in a row than any count after which a cabinet missing
# from a non-empty listing is removed.
EMPTY_LISTINGS = 10


def _online_state(hass: HomeAssistant, cabinet_id: str) -> str:
    entity_id = er.async_get(hass).async_get_entity_id(
        "binary_sensor", DOMAIN, f"{cabinet_id}_online"
    )
    assert entity_id is not None
    state = hass.states.get(entity_id)
    assert state is not None
    return state.state


def _poll_seconds(coordinator: BajieCoordinator) -> float:
    interval = coordinator.update_interval
    assert interval is not None
    return interval.total_seconds()


def _coordinator_messages(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == COORDINATOR_LOGGER and record.levelno == level
    ]


async def _fire_scheduled_poll(hass: HomeAssistant, seconds: float) -> None:
    """Move the clock so timers due within `seconds` fire, and let them finish."""
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=seconds))
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_unreachable_cloud_then_back(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: Simulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Entities go unavailable while the cloud is down and return by themselves.

    Going away logs one error however many polls fail, coming back one line.
    """
    coordinator = loaded_entry.runtime_data.coordinator
    cabinet_id = simulator.cabinet_ids[0]
    port = URL(simulator.base_url).port
    assert port is not None
    await simulator.stop()

    await coordinator.async_refresh()
    await coordinator.async_refresh()
    await hass.async_block_till_done()

    assert _online_state(hass, cabinet_id) == STATE_UNAVAILABLE
    assert len(_coordinator_messages(caplog, logging.ERROR)) == 1
    assert _coordinator_messages(caplog, logging.INFO) == []

    await simulator.start(port=port)
    await _fire_scheduled_poll(hass, _poll_seconds(coordinator))

    assert _online_state(hass, cabinet_id) == "on"
    assert len(_coordinator_messages(caplog, logging.ERROR)) == 1
    assert len(_coordinator_messages(caplog, logging.INFO)) == 1
    assert "recovered" in _coordinator_messages(caplog, logging.INFO)[0]


async def test_retry_after_delays_next_poll(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """After HTTP 429 with Retry-After, the next poll waits that long."""
    coordinator = loaded_entry.runtime_data.coordinator
    poll_seconds = _poll_seconds(coordinator)
    retry_after = 5 * poll_seconds
    simulator.add_fault(
        FaultRule(path=LISTING_PATH, status=429, retry_after=retry_after, times=1)
    )
    await coordinator.async_refresh()
    assert isinstance(coordinator.last_exception, UpdateFailed)
    assert coordinator.last_exception.retry_after == retry_after
    simulator.clear_requests()

    await _fire_scheduled_poll(hass, retry_after - poll_seconds)
    assert simulator.request_count(LISTING_PATH) == 0

    await _fire_scheduled_poll(hass, retry_after + 1)
    assert simulator.request_count(LISTING_PATH) == 1
    assert coordinator.last_update_success


async def test_short_retry_after_keeps_poll_interval(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """A Retry-After shorter than the poll interval never speeds polling up."""
    coordinator = loaded_entry.runtime_data.coordinator
    simulator.add_fault(
        FaultRule(path=LISTING_PATH, status=429, retry_after=1, times=1)
    )
    await coordinator.async_refresh()
    poll_seconds = _poll_seconds(coordinator)
    simulator.clear_requests()

    await _fire_scheduled_poll(hass, poll_seconds / 2)
    assert simulator.request_count(LISTING_PATH) == 0

    await _fire_scheduled_poll(hass, poll_seconds + 1)
    assert simulator.request_count(LISTING_PATH) == 1


async def test_huge_retry_after_is_capped(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """A Retry-After of days is read as the client's maximum wait."""
    coordinator = loaded_entry.runtime_data.coordinator
    simulator.add_fault(
        FaultRule(path=LISTING_PATH, status=429, retry_after=30 * 86400, times=1)
    )
    await coordinator.async_refresh()

    assert isinstance(coordinator.last_exception, UpdateFailed)
    assert coordinator.last_exception.retry_after == MAX_RETRY_AFTER


@pytest.mark.parametrize(
    "fault",
    [
        FaultRule(path=LISTING_PATH, status=500),
        FaultRule(path=LISTING_PATH, business_error=(2004, "Device not online.")),
        FaultRule(path=LISTING_PATH, malformed=True),
    ],
    ids=["http-500", "business-error", "malformed"],
)
async def test_failed_listing_keeps_devices(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: Simulator,
    fault: FaultRule,
) -> None:
    """A failed poll keeps every cabinet, device and entity."""
    coordinator = loaded_entry.runtime_data.coordinator
    device_registry = dr.async_get(hass)
    entity_registry = er.async_get(hass)
    devices = dr.async_entries_for_config_entry(device_registry, loaded_entry.entry_id)
    entities = er.async_entries_for_config_entry(entity_registry, loaded_entry.entry_id)
    simulator.add_fault(fault)

    await coordinator.async_refresh()
    await hass.async_block_till_done()

    assert coordinator.last_update_success is False
    assert set(coordinator.data) == set(simulator.cabinet_ids)
    assert (
        dr.async_entries_for_config_entry(device_registry, loaded_entry.entry_id)
        == devices
    )
    assert (
        er.async_entries_for_config_entry(entity_registry, loaded_entry.entry_id)
        == entities
    )


async def test_empty_listing_keeps_devices(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """Listings that suddenly have no cabinets, poll after poll, delete no device."""
    coordinator = loaded_entry.runtime_data.coordinator
    device_registry = dr.async_get(hass)
    cabinet_ids = simulator.cabinet_ids
    for cabinet_id in cabinet_ids:
        simulator.remove_cabinet(cabinet_id)

    for _ in range(EMPTY_LISTINGS):
        await coordinator.async_refresh()
    await hass.async_block_till_done()

    assert coordinator.last_update_success
    assert set(coordinator.data) == set(cabinet_ids)
    devices = dr.async_entries_for_config_entry(device_registry, loaded_entry.entry_id)
    assert {next(iter(device.identifiers))[1] for device in devices} == {
        *cabinet_ids,
        loaded_entry.entry_id,
    }
    assert _online_state(hass, cabinet_ids[0]) == "on"


async def test_rejected_password_reauth_updates_entry(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """A password changed in the cloud leads through reauth to a reloaded entry."""
    coordinator = loaded_entry.runtime_data.coordinator
    old_client = loaded_entry.runtime_data.client
    cabinet_id = simulator.cabinet_ids[0]
    simulator.password = "rotated-password"

    await coordinator.async_refresh()
    await hass.async_block_till_done()

    assert _online_state(hass, cabinet_id) == STATE_UNAVAILABLE
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert flows[0]["step_id"] == "reauth_confirm"

    result = await hass.config_entries.flow.async_configure(
        flows[0]["flow_id"], {CONF_PASSWORD: "rotated-password"}
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert loaded_entry.data[CONF_PASSWORD] == "rotated-password"
    assert loaded_entry.state is ConfigEntryState.LOADED
    assert loaded_entry.runtime_data.client is not old_client
    assert _online_state(hass, cabinet_id) == "on"
    assert hass.config_entries.flow.async_progress_by_handler(DOMAIN) == []


async def test_hanging_cloud_setup_gives_up_and_retries(
    hass: HomeAssistant, config_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """A cloud that never responds ends the setup, and Home Assistant retries it.

    Each of the 1 + len(DEFAULT_RETRY_DELAYS) attempts ends at the client's
    real timeout, which runs out on a moved clock, so setup gives up after
    at most attempts * DEFAULT_TIMEOUT + sum(DEFAULT_RETRY_DELAYS) seconds
    and the test takes about a second.
    """
    attempts = 1 + len(DEFAULT_RETRY_DELAYS)
    simulator.add_fault(FaultRule(path=LISTING_PATH, hang=True, times=attempts))
    config_entry.add_to_hass(hass)

    setup = hass.async_create_task(
        hass.config_entries.async_setup(config_entry.entry_id)
    )
    with pytest.raises(AssertionError, match="still false"):
        await advance_until(hass, setup.done, limit=DEFAULT_TIMEOUT - 1)
    assert simulator.request_count(LISTING_PATH) == 1

    await advance_until(hass, setup.done, limit=attempts * (DEFAULT_TIMEOUT + 1))

    assert setup.result() is False
    assert config_entry.state is ConfigEntryState.SETUP_RETRY
    assert simulator.request_count(LISTING_PATH) == attempts

    await advance_until(
        hass, lambda: config_entry.state is ConfigEntryState.LOADED, limit=120
    )
    assert simulator.request_count(LISTING_PATH) == attempts + 1
