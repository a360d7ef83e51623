"""Tests of devices appearing, going stale, being filtered and deleted."""

from __future__ import annotations

from datetime import timedelta

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.bajie_charging import async_remove_config_entry_device
from custom_components.bajie_charging.const import (
    CONF_CABINETS,
    CONF_POLL_INTERVAL,
    CONF_PUSH_POLL_INTERVAL,
    DOMAIN,
)
from custom_components.bajie_charging.coordinator import (
    STALE_AFTER_POLLS,
    BajieCoordinator,
)
from simulator import FaultRule, Simulator

from .conftest import WEBHOOK_ID
from .event_helpers import wait_for_request

LISTING_PATH = "/cabinet/getAllDevicePage"


def _cabinet_ids(hass: HomeAssistant, entry: MockConfigEntry) -> set[str]:
    """Return the cabinet ids of the entry's cabinet devices."""
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    return {
        cabinet_id
        for device in devices
        for domain, cabinet_id in device.identifiers
        if domain == DOMAIN and cabinet_id != entry.entry_id
    }


async def _poll(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    await entry.runtime_data.coordinator.async_refresh()
    await hass.async_block_till_done()


async def test_new_cabinet_appears_after_poll(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """A cabinet newly bound to the account gets a device and entities."""
    cabinet_id = simulator.add_cabinet()
    await _poll(hass, loaded_entry)

    assert cabinet_id in _cabinet_ids(hass, loaded_entry)
    entity_id = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{cabinet_id}_batteries_to_rent"
    )
    assert entity_id is not None
    assert hass.states.get(entity_id) is not None


async def test_push_for_unknown_cabinet_adds_it(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: Simulator,
    hass_client_no_auth,
) -> None:
    """A push naming an unknown cabinet refreshes the fleet at once."""
    cabinet_id = simulator.add_cabinet()
    client = await hass_client_no_auth()
    body = simulator.build_push(cabinet_id, "CABINET_STATUS")
    response = await client.post(f"/api/webhook/{WEBHOOK_ID}", json=body)
    assert response.status == 200
    await hass.async_block_till_done()

    assert cabinet_id in _cabinet_ids(hass, loaded_entry)


async def test_cabinet_removed_after_repeated_absence(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """A cabinet missing from several listings in a row loses its device."""
    cabinet_id = simulator.cabinet_ids[0]
    simulator.remove_cabinet(cabinet_id)

    for _ in range(STALE_AFTER_POLLS - 1):
        await _poll(hass, loaded_entry)
        assert cabinet_id in _cabinet_ids(hass, loaded_entry)
        assert cabinet_id in loaded_entry.runtime_data.coordinator.data

    await _poll(hass, loaded_entry)

    assert cabinet_id not in _cabinet_ids(hass, loaded_entry)
    assert cabinet_id not in loaded_entry.runtime_data.coordinator.data
    entity_id = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{cabinet_id}_batteries_to_rent"
    )
    assert entity_id is None


async def test_cabinet_back_before_stale_is_kept(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """The count of missing listings restarts when the cabinet comes back."""
    cabinet_id = simulator.cabinet_ids[0]
    cabinet = simulator.cabinets[cabinet_id]
    simulator.remove_cabinet(cabinet_id)
    for _ in range(STALE_AFTER_POLLS - 1):
        await _poll(hass, loaded_entry)
    simulator.fleet.cabinets[cabinet_id] = cabinet
    await _poll(hass, loaded_entry)
    simulator.remove_cabinet(cabinet_id)
    for _ in range(STALE_AFTER_POLLS - 1):
        await _poll(hass, loaded_entry)

    assert cabinet_id in _cabinet_ids(hass, loaded_entry)


async def test_empty_listing_removes_nothing(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """An empty fleet listing never counts towards removing devices."""
    before = _cabinet_ids(hass, loaded_entry)
    for cabinet_id in list(simulator.cabinet_ids):
        simulator.remove_cabinet(cabinet_id)

    for _ in range(STALE_AFTER_POLLS + 1):
        await _poll(hass, loaded_entry)

    assert _cabinet_ids(hass, loaded_entry) == before
    assert set(loaded_entry.runtime_data.coordinator.data) == before


async def test_failed_listing_removes_nothing(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """Failed polls never count towards removing devices."""
    before = _cabinet_ids(hass, loaded_entry)
    simulator.add_fault(FaultRule(path="*", status=500))

    for _ in range(STALE_AFTER_POLLS + 1):
        await _poll(hass, loaded_entry)

    assert _cabinet_ids(hass, loaded_entry) == before


async def test_filter_keeps_only_chosen_cabinets(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """A cabinet filter removes the other cabinets' devices at the reload."""
    kept = simulator.cabinet_ids[0]
    hass.config_entries.async_update_entry(
        loaded_entry, options={CONF_CABINETS: [kept]}
    )
    await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()

    assert _cabinet_ids(hass, loaded_entry) == {kept}
    assert set(loaded_entry.runtime_data.coordinator.data) == {kept}


async def test_push_for_filtered_cabinet_is_ignored(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: Simulator,
    hass_client_no_auth,
) -> None:
    """A push for a cabinet the filter leaves out changes and polls nothing."""
    kept, left_out = simulator.cabinet_ids[0], simulator.cabinet_ids[1]
    hass.config_entries.async_update_entry(
        loaded_entry, options={CONF_CABINETS: [kept]}
    )
    await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    simulator.clear_requests()

    client = await hass_client_no_auth()
    body = simulator.build_push(left_out, "CABINET_STATUS")
    response = await client.post(f"/api/webhook/{WEBHOOK_ID}", json=body)
    await hass.async_block_till_done()

    assert response.status == 200
    assert simulator.request_count() == 0
    assert left_out not in _cabinet_ids(hass, loaded_entry)


async def test_user_may_delete_only_gone_cabinets(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """A listed cabinet's device cannot be deleted; a gone one's can."""
    registry = dr.async_get(hass)
    listed_id = simulator.cabinet_ids[0]
    listed = registry.async_get_device_by_identifier(
        (DOMAIN, listed_id), loaded_entry.entry_id
    )
    gone = registry.async_get_or_create(
        config_entry_id=loaded_entry.entry_id, identifiers={(DOMAIN, "GONE0001")}
    )
    assert listed is not None

    assert await async_remove_config_entry_device(hass, loaded_entry, listed) is False
    assert await async_remove_config_entry_device(hass, loaded_entry, gone) is True


async def _load_with_intervals(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> BajieCoordinator:
    """Load the entry polling every 2 minutes, or every 30 while pushes arrive."""
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        config_entry, options={CONF_POLL_INTERVAL: 2, CONF_PUSH_POLL_INTERVAL: 30}
    )
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    return config_entry.runtime_data.coordinator


async def _push_status(simulator: Simulator, hass_client_no_auth) -> None:
    """Post a status report of the first cabinet to the entry's webhook."""
    client = await hass_client_no_auth()
    body = simulator.build_push(simulator.cabinet_ids[0], "CABINET_STATUS")
    response = await client.post(f"/api/webhook/{WEBHOOK_ID}", json=body)
    assert response.status == 200


async def test_poll_interval_follows_pushes(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    simulator: Simulator,
    hass_client_no_auth,
) -> None:
    """Polling slows down while pushes arrive, as the options set."""
    coordinator = await _load_with_intervals(hass, config_entry)
    assert coordinator.update_interval == timedelta(minutes=2)
    assert coordinator.pushes_arrive is False

    await _push_status(simulator, hass_client_no_auth)

    assert coordinator.pushes_arrive is True
    assert coordinator.update_interval == timedelta(minutes=30)


async def test_account_device_links_cabinets(
    hass: HomeAssistant, loaded_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """Cabinets hang off the account's device, which cannot be deleted."""
    registry = dr.async_get(hass)
    account = registry.async_get_device_by_identifier(
        (DOMAIN, loaded_entry.entry_id), loaded_entry.entry_id
    )
    cabinet = registry.async_get_device_by_identifier(
        (DOMAIN, simulator.cabinet_ids[0]), loaded_entry.entry_id
    )
    assert account is not None
    assert cabinet is not None

    assert cabinet.via_device_id == account.id
    assert account.entry_type is dr.DeviceEntryType.SERVICE
    assert await async_remove_config_entry_device(hass, loaded_entry, account) is False


async def test_update_mode_sensor(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: Simulator,
    hass_client_no_auth,
) -> None:
    """The update mode reads polling, then push at the first poll after a push."""
    entity_id = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{loaded_entry.entry_id}_update_mode"
    )
    assert entity_id is not None
    assert hass.states.get(entity_id).state == "polling"

    await _push_status(simulator, hass_client_no_auth)
    await hass.async_block_till_done()
    assert hass.states.get(entity_id).state == "polling"

    await _poll(hass, loaded_entry)
    assert hass.states.get(entity_id).state == "push"


async def test_polling_speeds_up_after_pushes(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    simulator: Simulator,
    hass_client_no_auth,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Polling speeds up when the last push's window ends, not at the next poll."""
    coordinator = await _load_with_intervals(hass, config_entry)
    await _push_status(simulator, hass_client_no_auth)
    # The poll scheduled before the push runs in push mode and schedules
    # the next one a slow interval later.
    freezer.tick(timedelta(minutes=2, seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert simulator.request_count(LISTING_PATH) == 1
    assert coordinator.update_interval == timedelta(minutes=30)

    freezer.tick(timedelta(minutes=28))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    assert coordinator.pushes_arrive is False
    assert coordinator.update_interval == timedelta(minutes=2)


async def test_device_deletion_while_cloud_is_down(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: Simulator,
    hass_ws_client: WebSocketGenerator,
) -> None:
    """While the cloud is down, a cabinet's device may go, the account's not."""
    assert await async_setup_component(hass, "config", {})
    registry = dr.async_get(hass)
    cabinet = registry.async_get_device_by_identifier(
        (DOMAIN, simulator.cabinet_ids[0]), loaded_entry.entry_id
    )
    account = registry.async_get_device_by_identifier(
        (DOMAIN, loaded_entry.entry_id), loaded_entry.entry_id
    )
    assert cabinet is not None
    assert account is not None
    simulator.add_fault(FaultRule(status=500))
    await hass.config_entries.async_reload(loaded_entry.entry_id)
    await hass.async_block_till_done()
    assert loaded_entry.state is ConfigEntryState.SETUP_RETRY
    client = await hass_ws_client(hass)

    results = {}
    for name, device in (("cabinet", cabinet), ("account", account)):
        await client.send_json_auto_id(
            {
                "type": "config/device_registry/remove",
                "device_id": device.id,
            }
        )
        results[name] = (await client.receive_json())["success"]

    assert results == {"cabinet": True, "account": False}
    assert registry.async_get(cabinet.id) is None
    assert registry.async_get(account.id) is not None


async def test_failed_poll_retried_soon_in_push_mode(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    simulator: Simulator,
    hass_client_no_auth,
) -> None:
    """After a failed poll, the next one comes after the short interval."""
    coordinator = await _load_with_intervals(hass, config_entry)
    await _push_status(simulator, hass_client_no_auth)
    simulator.add_fault(FaultRule(path=LISTING_PATH, status=503))

    await coordinator.async_refresh()
    assert coordinator.last_update_success is False
    assert coordinator.update_interval == timedelta(minutes=2)

    simulator.clear_faults()
    await coordinator.async_refresh()
    assert coordinator.last_update_success is True
    assert coordinator.update_interval == timedelta(minutes=30)


async def test_listing_ending_after_unload_sets_no_timer(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    simulator: Simulator,
    hass_client_no_auth,
) -> None:
    """A listing that ends after the entry unloaded leaves no timer behind.

    The test harness fails a test that leaves a timer running.
    """
    coordinator = await _load_with_intervals(hass, config_entry)
    await _push_status(simulator, hass_client_no_auth)
    simulator.add_fault(FaultRule(path=LISTING_PATH, delay=0.5, times=1))
    listings_before = simulator.request_count(LISTING_PATH)
    refresh = hass.async_create_task(coordinator.async_refresh())
    await wait_for_request(simulator, LISTING_PATH, listings_before + 1)

    assert await hass.config_entries.async_unload(config_entry.entry_id)
    await refresh

    assert coordinator.last_update_success is True
