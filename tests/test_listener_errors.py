"""Tests of pushes whose entity updates raise: the rest of the push still runs."""

from __future__ import annotations

import logging

from homeassistant.components.event import ATTR_EVENT_TYPE
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.bajie_charging.cabinet_events import CabinetEvent
from custom_components.bajie_charging.const import EVENT_CABINET
from simulator import Simulator

from .event_helpers import push, state_of


def _raise_update() -> None:
    raise RuntimeError("update failed")


def _raise_event(event: CabinetEvent) -> None:
    raise RuntimeError(f"event {event.event_type} failed")


async def test_failing_update_keeps_event(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    cloud: Simulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A cabinet listener that raises does not keep the event from the entity."""
    cabinet_id = cloud.cabinet_ids[0]
    coordinator = loaded_entry.runtime_data.coordinator
    loaded_entry.async_on_unload(
        coordinator.async_add_cabinet_listener(cabinet_id, _raise_update)
    )

    await push(hass, cloud, cabinet_id, "CABINET_STATUS", signal="3")

    state = state_of(hass, "event", f"{cabinet_id}_event")
    assert state.attributes[ATTR_EVENT_TYPE] == "cabinet_status"
    assert state.attributes["signal"] == 3
    assert state_of(hass, "sensor", f"{cabinet_id}_signal").state == "3"
    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 1
    assert errors[0].getMessage() == (
        f"Failed to update an entity of cabinet {cabinet_id}"
    )


async def test_failing_event_listener_logged(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    cloud: Simulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An event listener that raises is logged, and the push is not failed."""
    cabinet_id = cloud.cabinet_ids[0]
    coordinator = loaded_entry.runtime_data.coordinator
    loaded_entry.async_on_unload(
        coordinator.async_add_cabinet_event_listener(cabinet_id, _raise_event)
    )
    bus_events = async_capture_events(hass, EVENT_CABINET)

    await push(hass, cloud, cabinet_id, "CABINET_STATUS", signal="4")

    assert len(bus_events) == 1
    errors = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert len(errors) == 1
    assert errors[0].getMessage() == (
        f"Failed to pass an event to an entity of cabinet {cabinet_id}"
    )
