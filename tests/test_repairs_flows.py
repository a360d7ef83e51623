"""Tests of the push fix flows when they cannot register Home Assistant's URL."""

from __future__ import annotations

import logging
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.bajie_charging.const import CONF_PUSH_URL, DOMAIN
from simulator import FaultRule, Simulator

from .conftest import WEBHOOK_ID

EXTERNAL_URL = "http://127.0.0.1:8123"
OUR_URL = f"{EXTERNAL_URL}/api/webhook/{WEBHOOK_ID}"
OTHER_URL = "http://127.0.0.1:9/operator-system"
# The internal URL, in place of a local network address such as
# http://192.168.1.10:8123. Nothing listens on it, so a push sent there by
# mistake reaches no host.
INTERNAL_URL = "http://127.0.0.1:8125"
GET_CONFIG_PATH = "/cabinet/eventPush/config/get"
SET_CONFIG_PATH = "/cabinet/eventPush/config"
ISSUE_KIND = "push_url_taken_over"


@pytest.fixture
async def taken_over_entry(
    hass: HomeAssistant, config_entry: MockConfigEntry, simulator: Simulator
) -> MockConfigEntry:
    """Load a registered entry whose cloud now pushes to another system."""
    hass.config.external_url = EXTERNAL_URL
    await async_setup_component(hass, "repairs", {})
    config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        config_entry, data={**config_entry.data, CONF_PUSH_URL: OUR_URL}
    )
    simulator.set_push_url(OTHER_URL)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert _issue(hass, config_entry) is not None
    return config_entry


def _issue(hass: HomeAssistant, entry: MockConfigEntry) -> Any:
    return ir.async_get(hass).async_get_issue(DOMAIN, f"{ISSUE_KIND}_{entry.entry_id}")


async def _confirm_fix(hass: HomeAssistant, issue_id: str) -> dict[str, Any]:
    """Open an issue's fix flow and confirm its first step."""
    manager = hass.data["repairs"]["flow_manager"]
    result = await manager.async_init(DOMAIN, context={"issue_id": issue_id})
    assert result["step_id"] == "confirm"
    confirmed: dict[str, Any] = await manager.async_configure(result["flow_id"], {})
    return confirmed


async def test_fix_without_url_aborts(
    hass: HomeAssistant, taken_over_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """Confirming while Home Assistant has no URL aborts and writes nothing."""
    issue_id = _issue(hass, taken_over_entry).issue_id
    hass.config.external_url = None
    hass.config.api = None
    simulator.clear_requests()

    result = await _confirm_fix(hass, issue_id)

    assert result["type"] == "abort"
    assert result["reason"] == "no_url_available"
    assert simulator.request_count() == 0
    assert simulator.push_config.push_url == OTHER_URL
    assert _issue(hass, taken_over_entry) is not None


async def test_fix_with_internal_url_only_aborts(
    hass: HomeAssistant, taken_over_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """An internal URL alone is not registered, so the other system's URL stays."""
    issue_id = _issue(hass, taken_over_entry).issue_id
    hass.config.external_url = None
    hass.config.internal_url = INTERNAL_URL
    simulator.clear_requests()

    result = await _confirm_fix(hass, issue_id)

    assert result["type"] == "abort"
    assert result["reason"] == "no_url_available"
    assert simulator.request_count(SET_CONFIG_PATH) == 0
    assert simulator.push_config.push_url == OTHER_URL
    assert taken_over_entry.data[CONF_PUSH_URL] == OUR_URL


async def test_fix_of_unloaded_entry_aborts(
    hass: HomeAssistant, taken_over_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """An issue of an entry that is not loaded cannot be fixed, nothing is sent."""
    issue_id = _issue(hass, taken_over_entry).issue_id
    assert await hass.config_entries.async_unload(taken_over_entry.entry_id)
    await hass.async_block_till_done()
    simulator.clear_requests()

    result = await _confirm_fix(hass, issue_id)

    assert result["type"] == "abort"
    assert result["reason"] == "no_url_available"
    assert simulator.request_count() == 0
    assert simulator.push_config.push_url == OTHER_URL


@pytest.mark.parametrize(
    ("fault", "expected_writes"),
    [
        (FaultRule(path=GET_CONFIG_PATH, business_error=(500, "System busy.")), 0),
        (FaultRule(path=SET_CONFIG_PATH, status=503), 1),
        (FaultRule(path=SET_CONFIG_PATH, drop_after_action=True), 1),
    ],
    ids=["read-refused", "write-http-503", "write-no-reply"],
)
async def test_fix_with_failing_cloud_aborts(
    hass: HomeAssistant,
    taken_over_entry: MockConfigEntry,
    simulator: Simulator,
    fault: FaultRule,
    expected_writes: int,
) -> None:
    """A cloud failure during the fix aborts it and keeps the issue and entry data."""
    issue_id = _issue(hass, taken_over_entry).issue_id
    data_before = dict(taken_over_entry.data)
    simulator.add_fault(fault)
    simulator.clear_requests()

    result = await _confirm_fix(hass, issue_id)

    assert result["type"] == "abort"
    assert result["reason"] == "push_config_unavailable"
    assert simulator.request_count(SET_CONFIG_PATH) == expected_writes
    assert _issue(hass, taken_over_entry) is not None
    assert dict(taken_over_entry.data) == data_before


async def test_fix_of_read_failure_leaves_cloud_unchanged(
    hass: HomeAssistant,
    taken_over_entry: MockConfigEntry,
    simulator: Simulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Without a readable configuration, the other system's URL stays."""
    issue_id = _issue(hass, taken_over_entry).issue_id
    simulator.add_fault(
        FaultRule(path=GET_CONFIG_PATH, business_error=(500, "System busy."))
    )

    await _confirm_fix(hass, issue_id)

    assert simulator.push_config.push_url == OTHER_URL
    warnings = [
        record.getMessage()
        for record in caplog.records
        if record.levelno == logging.WARNING
        and record.name.startswith("custom_components.bajie_charging")
    ]
    assert len(warnings) == 1
    assert "Could not register the push URL in the cloud" in warnings[0]
    assert "System busy." in warnings[0]


async def test_fix_works_after_cloud_recovers(
    hass: HomeAssistant, taken_over_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """A second fix after a failed one registers the URL and clears the issue."""
    issue_id = _issue(hass, taken_over_entry).issue_id
    simulator.add_fault(
        FaultRule(path=GET_CONFIG_PATH, business_error=(500, "System busy."), times=1)
    )
    first = await _confirm_fix(hass, issue_id)
    assert first["type"] == "abort"

    second = await _confirm_fix(hass, issue_id)

    assert second["type"] == "create_entry"
    assert simulator.push_config.push_url == OUR_URL
    assert _issue(hass, taken_over_entry) is None


async def test_issue_of_unknown_entry_only_confirms(
    hass: HomeAssistant, taken_over_entry: MockConfigEntry, simulator: Simulator
) -> None:
    """An issue naming an entry that no longer exists gets a plain confirmation.

    Removing an entry deletes its issues, so no user action leads here. The
    issue is created directly to check the fallback flow.
    """
    stale_id = f"{ISSUE_KIND}_gone"
    ir.async_create_issue(
        hass,
        DOMAIN,
        stale_id,
        data={"entry_id": "gone", "kind": ISSUE_KIND},
        is_fixable=True,
        severity=ir.IssueSeverity.WARNING,
        translation_key=ISSUE_KIND,
        translation_placeholders={"account": "gone", "other_url": OTHER_URL},
    )
    simulator.clear_requests()

    result = await _confirm_fix(hass, stale_id)

    assert result["type"] == "create_entry"
    assert simulator.request_count() == 0
    assert simulator.push_config.push_url == OTHER_URL
    assert _issue(hass, taken_over_entry) is not None
