"""Tests of the push repair issues and their fix flows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.bajie_charging.const import CONF_PUSH_URL, DOMAIN
from simulator import Simulator

from .conftest import WEBHOOK_ID

EXTERNAL_URL = "http://127.0.0.1:8123"
OUR_URL = f"{EXTERNAL_URL}/api/webhook/{WEBHOOK_ID}"
OTHER_URL = "http://127.0.0.1:9/operator-system"
# The internal URL, in place of a local network address such as
# http://192.168.1.10:8123. Nothing listens on it, so a push sent there by
# mistake reaches no host.
INTERNAL_URL = "http://127.0.0.1:8125"


def _issue(hass: HomeAssistant, kind: str, entry: MockConfigEntry) -> Any:
    return ir.async_get(hass).async_get_issue(DOMAIN, f"{kind}_{entry.entry_id}")


@pytest.fixture
async def registered_entry(
    hass: HomeAssistant, config_entry: MockConfigEntry, simulator: Simulator
) -> MockConfigEntry:
    """Load an entry that registered its webhook URL in the cloud."""
    hass.config.external_url = EXTERNAL_URL
    await async_setup_component(hass, "repairs", {})
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        config_entry, data={**config_entry.data, CONF_PUSH_URL: OUR_URL}
    )
    simulator.set_push_url(OUR_URL)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    return config_entry


async def _fix(hass: HomeAssistant, issue_id: str) -> dict[str, Any]:
    """Open the issue's fix flow, check it asks first, and confirm it."""
    manager = hass.data["repairs"]["flow_manager"]
    result = await manager.async_init(DOMAIN, context={"issue_id": issue_id})
    assert result["step_id"] == "confirm"
    confirmed: dict[str, Any] = await manager.async_configure(result["flow_id"], {})
    return confirmed


async def test_no_issue_when_registered_and_healthy(
    hass: HomeAssistant, registered_entry: MockConfigEntry
) -> None:
    """A registered URL the cloud still uses raises no issue."""
    assert ir.async_get(hass).issues == {}


async def test_no_issue_without_registration(
    hass: HomeAssistant, loaded_entry: MockConfigEntry
) -> None:
    """An entry that never registered its URL raises no push issue."""
    assert ir.async_get(hass).issues == {}


async def test_taken_over_url_is_repaired(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    simulator: Simulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Another URL on the cloud raises an issue whose fix re-registers ours."""
    hass.config.external_url = EXTERNAL_URL
    await async_setup_component(hass, "repairs", {})
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        config_entry, data={**config_entry.data, CONF_PUSH_URL: OUR_URL}
    )
    simulator.set_push_url(OTHER_URL)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()

    issue = _issue(hass, "push_url_taken_over", config_entry)
    assert issue is not None
    assert issue.translation_placeholders["other_url"] == OTHER_URL
    assert simulator.push_config.push_url == OTHER_URL

    result = await _fix(hass, issue.issue_id)

    assert result["type"] == "create_entry"
    assert simulator.push_config.push_url == OUR_URL
    assert _issue(hass, "push_url_taken_over", config_entry) is None


async def test_outdated_url_is_repaired(
    hass: HomeAssistant,
    registered_entry: MockConfigEntry,
    simulator: Simulator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """A changed external URL raises an issue; the fix registers the new one."""
    new_external = "http://127.0.0.1:8124"
    hass.config.external_url = new_external
    freezer.tick(timedelta(hours=1, seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    issue = _issue(hass, "push_url_outdated", registered_entry)
    assert issue is not None

    await _fix(hass, issue.issue_id)

    new_url = f"{new_external}/api/webhook/{WEBHOOK_ID}"
    assert simulator.push_config.push_url == new_url
    assert registered_entry.data[CONF_PUSH_URL] == new_url
    assert _issue(hass, "push_url_outdated", registered_entry) is None


async def test_missing_url_raises_issue(
    hass: HomeAssistant,
    registered_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Without any Home Assistant URL, the next check raises an issue."""
    hass.config.external_url = None
    hass.config.api = None
    freezer.tick(timedelta(hours=1, seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    issue = _issue(hass, "no_url", registered_entry)
    assert issue is not None
    assert issue.is_fixable is False


async def test_silent_webhook_raises_issue_until_a_push(
    hass: HomeAssistant,
    registered_entry: MockConfigEntry,
    simulator: Simulator,
    hass_client_no_auth: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Two hours without a push raise an issue; the next push clears it."""
    freezer.tick(timedelta(hours=2, minutes=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert _issue(hass, "pushes_stopped", registered_entry) is not None

    client = await hass_client_no_auth()
    cabinet_id = simulator.cabinet_ids[0]
    body = simulator.build_push(cabinet_id, "CABINET_STATUS")
    response = await client.post(f"/api/webhook/{WEBHOOK_ID}", json=body)
    assert response.status == 200
    freezer.tick(timedelta(hours=1, seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    assert _issue(hass, "pushes_stopped", registered_entry) is None


async def test_internal_url_only_raises_no_url_issue(
    hass: HomeAssistant,
    registered_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """An internal URL is no URL for the cloud, so it is not offered as the new one."""
    hass.config.external_url = None
    hass.config.internal_url = INTERNAL_URL
    freezer.tick(timedelta(hours=1, seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    assert _issue(hass, "no_url", registered_entry) is not None
    assert _issue(hass, "push_url_outdated", registered_entry) is None
