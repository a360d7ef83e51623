"""Event entity that the entities webhook triggers once per push."""

from __future__ import annotations

from typing import Any

from homeassistant.components.event import EventEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.helpers.typing import ConfigType, DiscoveryInfoType

from .const import DATA_COUNTERS

OTHER_EVENT_TYPE = "other"
PUSH_EVENT_TYPES = ("cabinet_status", "battery_borrow_out", OTHER_EVENT_TYPE)
"""Event types: the two push kinds that the benchmark sends, and one for others."""


def event_type_of(kind: object) -> str:
    """Return the event type of a push's `event` field."""
    event_type = kind.lower() if isinstance(kind, str) else OTHER_EVENT_TYPE
    return event_type if event_type in PUSH_EVENT_TYPES else OTHER_EVENT_TYPE


class BenchPushEvent(EventEntity):
    """The latest push to the entities webhook, with its eventData as attributes."""

    _attr_has_entity_name = True
    _attr_name = "Benchmark push"
    _attr_should_poll = False
    _attr_unique_id = "bench_noop_push"

    def __init__(self) -> None:
        """Set up the entity with the fixed event types."""
        self._attr_event_types = list(PUSH_EVENT_TYPES)

    @callback
    def async_record_push(self, kind: object, event_data: dict[str, Any]) -> None:
        """Trigger the event of one push and write the entity's state.

        Raises RuntimeError when the entity has not been added to Home
        Assistant yet.
        """
        self._trigger_event(event_type_of(kind), event_data)
        self.async_write_ha_state()


async def async_setup_platform(
    hass: HomeAssistant,
    config: ConfigType,
    async_add_entities: AddEntitiesCallback,
    discovery_info: DiscoveryInfoType | None = None,
) -> None:
    """Add the helper's event entity when bench_noop loads this platform."""
    # Only bench_noop's own discovery adds it, not an `event:` entry in YAML.
    if discovery_info is None:
        return
    async_add_entities([hass.data[DATA_COUNTERS].push_event])
