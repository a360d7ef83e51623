"""Benchmark helper: reference webhooks and counters of state writes.

scripts/bench links this integration into the configuration folder of the
Home Assistant it starts under bench/, and nothing else loads it. It gives
the benchmark what Home Assistant does not show on its own:

- a webhook whose handler only parses the JSON body, counts it and returns
  the same reply as the bajie_charging webhook, as the floor to compare
  pushes with;
- a second webhook that does the same and then the work Home Assistant
  itself must do for a push: as many state writes as the integration made
  per push on average (set through a view) and one bus event. It writes
  through `hass.states.async_set`, the state machine's own cost, without
  the work of an entity's write;
- a third webhook that makes as many writes and the same bus event
  through real entities of this integration. An event entity, triggered
  with the body's `eventData`, makes one write and sensors make the rest.
  Each write goes through `Entity.async_write_ha_state`, which computes
  the entity's state and attributes, so this webhook pays what any
  integration built on Home Assistant entities pays for the writes;
- the number of `bajie_charging_event` bus events, one per push that the
  integration accepted, so that processed pushes are counted on the server
  (an unknown webhook id is answered with HTTP 200 as well);
- while recording, every state write of one integration's entities, split
  into writes that changed the state (`state_changed`) and writes that did
  not (`state_reported`);
- the number of entities of a config entry that are registered, enabled,
  and have a state;
- the time Python's cyclic garbage collector ran, which profilers charge to
  whatever function happened to allocate when a collection started.

The views require a Home Assistant access token like the rest of the API.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
import gc
import json
import time
from typing import Any

from aiohttp import web
from homeassistant.components import webhook
from homeassistant.const import EVENT_STATE_CHANGED, EVENT_STATE_REPORTED, Platform
from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    EventStateReportedData,
    HomeAssistant,
    callback,
)
from homeassistant.helpers import (
    config_validation as cv,
    device_registry as dr,
    discovery,
    entity_registry as er,
)
from homeassistant.helpers.http import HomeAssistantView
from homeassistant.helpers.typing import ConfigType

from .const import DATA_COUNTERS, DOMAIN
from .event import BenchPushEvent
from .sensor import BenchWrittenSensor

CONFIG_SCHEMA = cv.empty_config_schema(DOMAIN)

CABINET_EVENT = "bajie_charging_event"
"""Bus event that the bajie_charging integration fires once per accepted push."""
WRITING_EVENT = "bench_noop_push"
"""Bus event that the writing webhook fires once per push."""
ENTITIES_EVENT = "bench_noop_entities_push"
"""Bus event that the entities webhook fires once per push."""
WRITTEN_SENSORS = 8
"""Sensors of the entities webhook.

A push writes at most ceil(writes_per_push) - 1 of them, so 8 cover a mean
of up to 9 writes per push. The integration makes 2 to 4 in the benchmark.
"""
WRITTEN_ATTRIBUTES = {
    "state_class": "measurement",
    "unit_of_measurement": "%",
    "friendly_name": "Benchmark written state",
}
"""Attributes of the writing webhook's states, about the size of a sensor's."""


class BenchCounters:
    """Counters that the benchmark reads and resets through the views."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Start with every counter at zero and no recording."""
        self.hass = hass
        self.webhook_id = webhook.async_generate_id()
        self.noop_requests = 0
        self.writing_webhook_id = webhook.async_generate_id()
        self.writing_requests = 0
        self.writes_per_push = 0.0
        self._write_credit = 0.0
        self.entities_webhook_id = webhook.async_generate_id()
        self.entities_requests = 0
        self._sensor_write_credit = 0.0
        self.push_event = BenchPushEvent()
        self.written_sensors = [
            BenchWrittenSensor(index) for index in range(WRITTEN_SENSORS)
        ]
        self.cabinet_events = 0
        self.writes: Counter[str] = Counter()
        self.changes: Counter[str] = Counter()
        self.device_of: dict[str, str] = {}
        """Device identifier of each recorded entity, within the recorded platform."""
        self._stop_recording: list[CALLBACK_TYPE] = []
        self.gc_seconds = 0.0
        self.gc_collections = 0
        self._gc_started: float | None = None

    def track_garbage_collection(self, phase: str, info: dict[str, int]) -> None:
        """Add up the time of collections, called by the gc module at start and stop."""
        if phase == "start":
            self._gc_started = time.perf_counter()
        elif self._gc_started is not None:
            self.gc_seconds += time.perf_counter() - self._gc_started
            self.gc_collections += 1
            self._gc_started = None

    async def handle_noop_webhook(
        self, hass: HomeAssistant, webhook_id: str, request: web.Request
    ) -> web.Response:
        """Parse the body as JSON, count it and reply as bajie_charging does.

        A body that is not JSON raises, so it is not counted. Home Assistant's
        webhook component then replies with HTTP 200 itself.
        """
        json.loads(await request.read())
        self.noop_requests += 1
        return web.json_response({"code": 0, "msg": "ok"})

    async def handle_writing_webhook(
        self, hass: HomeAssistant, webhook_id: str, request: web.Request
    ) -> web.Response:
        """Parse and count the body like the no-op, then write states and fire an event.

        Every write changes its state. The number of writes alternates so
        that their mean is writes_per_push.
        """
        body = json.loads(await request.read())
        self.writing_requests += 1
        self._write_credit += self.writes_per_push
        writes = int(self._write_credit)
        self._write_credit -= writes
        for index in range(writes):
            hass.states.async_set(
                f"sensor.bench_noop_written_{index}",
                str(self.writing_requests),
                WRITTEN_ATTRIBUTES,
            )
        event_data = body.get("eventData") if isinstance(body, dict) else None
        hass.bus.async_fire(
            WRITING_EVENT, dict(event_data) if isinstance(event_data, dict) else {}
        )
        return web.json_response({"code": 0, "msg": "ok"})

    async def handle_entities_webhook(
        self, hass: HomeAssistant, webhook_id: str, request: web.Request
    ) -> web.Response:
        """Parse the body like the no-op, write entities, count it and fire an event.

        The event entity makes one write per push and the sensors the rest,
        so that the mean is writes_per_push but at least 1. Every
        write changes its state. Before the platforms have added the
        entities, the write raises RuntimeError and the push is not counted.
        """
        body = json.loads(await request.read())
        push = body if isinstance(body, dict) else {}
        event_data = push.get("eventData")
        attributes = dict(event_data) if isinstance(event_data, dict) else {}
        self.push_event.async_record_push(push.get("event"), attributes)
        self._sensor_write_credit += max(0.0, self.writes_per_push - 1)
        sensor_writes = int(self._sensor_write_credit)
        self._sensor_write_credit -= sensor_writes
        for index in range(sensor_writes):
            # Past the last sensor the writes start again at the first. A
            # sensor's value changes on every write, so these are changes too.
            sensor = self.written_sensors[index % len(self.written_sensors)]
            sensor.async_write_next_value()
        self.entities_requests += 1
        hass.bus.async_fire(ENTITIES_EVENT, attributes)
        return web.json_response({"code": 0, "msg": "ok"})

    @callback
    def count_cabinet_event(self, event: Event[Mapping[str, Any]]) -> None:
        """Count one push that the integration accepted."""
        self.cabinet_events += 1

    @callback
    def start_recording(self, platform: str) -> int:
        """Record the state writes of the platform's enabled entities.

        Returns the number of entities watched. The entity set is read once,
        so entities added later are not recorded.
        """
        self.stop_recording()
        entity_registry = er.async_get(self.hass)
        device_registry = dr.async_get(self.hass)
        self.device_of = {}
        for entry in entity_registry.entities.values():
            if entry.platform != platform or entry.disabled_by is not None:
                continue
            device = (
                None
                if entry.device_id is None
                else device_registry.async_get(entry.device_id)
            )
            identifiers = [] if device is None else sorted(device.identifiers)
            self.device_of[entry.entity_id] = next(
                (value for domain, value in identifiers if domain == platform), ""
            )
        watched = self.device_of

        @callback
        def is_watched(event_data: Mapping[str, Any]) -> bool:
            return event_data["entity_id"] in watched

        self._stop_recording = [
            self.hass.bus.async_listen(
                EVENT_STATE_CHANGED, self._record_change, event_filter=is_watched
            ),
            self.hass.bus.async_listen(
                EVENT_STATE_REPORTED, self._record_write, event_filter=is_watched
            ),
        ]
        self.writes.clear()
        self.changes.clear()
        return len(watched)

    @callback
    def stop_recording(self) -> None:
        """Stop recording state writes."""
        for unsubscribe in self._stop_recording:
            unsubscribe()
        self._stop_recording = []

    @callback
    def _record_change(self, event: Event[EventStateChangedData]) -> None:
        entity_id = event.data["entity_id"]
        self.writes[entity_id] += 1
        self.changes[entity_id] += 1

    @callback
    def _record_write(self, event: Event[EventStateReportedData]) -> None:
        self.writes[event.data["entity_id"]] += 1

    @callback
    def snapshot(self, *, reset: bool) -> dict[str, Any]:
        """Return the counters; with reset, zero the recorded writes afterwards."""
        recorded = [
            {
                "entity_id": entity_id,
                "device": self.device_of.get(entity_id, ""),
                "writes": count,
                "changes": self.changes[entity_id],
            }
            for entity_id, count in self.writes.items()
        ]
        if reset:
            self.writes.clear()
            self.changes.clear()
        return {
            "webhook_id": self.webhook_id,
            "noop_requests": self.noop_requests,
            "writing_webhook_id": self.writing_webhook_id,
            "writing_requests": self.writing_requests,
            "entities_webhook_id": self.entities_webhook_id,
            "entities_requests": self.entities_requests,
            "cabinet_events": self.cabinet_events,
            "gc_seconds": self.gc_seconds,
            "gc_collections": self.gc_collections,
            "recording": bool(self._stop_recording),
            "recorded": recorded,
        }

    @callback
    def entity_counts(self, config_entry_id: str) -> dict[str, int]:
        """Return how many entities of a config entry are registered and shown."""
        entries = er.async_entries_for_config_entry(
            er.async_get(self.hass), config_entry_id
        )
        enabled = [entry for entry in entries if entry.disabled_by is None]
        with_state = sum(
            1 for entry in enabled if self.hass.states.get(entry.entity_id) is not None
        )
        return {
            "registered": len(entries),
            "enabled": len(enabled),
            "with_state": with_state,
        }


class BenchStatsView(HomeAssistantView):
    """GET the counters; `?reset=1` zeroes the recorded writes after reading."""

    url = "/api/bench_noop/stats"
    name = "api:bench_noop:stats"

    def __init__(self, counters: BenchCounters) -> None:
        """Serve the given counters."""
        self._counters = counters

    async def get(self, request: web.Request) -> web.Response:
        """Return the counters as JSON."""
        reset = request.query.get("reset") == "1"
        return self.json(self._counters.snapshot(reset=reset))


class BenchRecordingView(HomeAssistantView):
    """POST `{"platform": NAME}` to record its state writes, or null to stop."""

    url = "/api/bench_noop/recording"
    name = "api:bench_noop:recording"

    def __init__(self, counters: BenchCounters) -> None:
        """Control the given counters."""
        self._counters = counters

    async def post(self, request: web.Request) -> web.Response:
        """Start or stop recording; return the number of entities watched."""
        body = await request.json()
        platform = body.get("platform") if isinstance(body, dict) else None
        if not platform:
            self._counters.stop_recording()
            return self.json({"watched": 0})
        return self.json({"watched": self._counters.start_recording(str(platform))})


class BenchWritingView(HomeAssistantView):
    """POST `{"writes_per_push": N}` to set the mean writes of the writing webhooks.

    The no-op with writes and the no-op with entities both make N writes.
    """

    url = "/api/bench_noop/writing"
    name = "api:bench_noop:writing"

    def __init__(self, counters: BenchCounters) -> None:
        """Control the given counters."""
        self._counters = counters

    async def post(self, request: web.Request) -> web.Response:
        """Set the mean number of state writes per push."""
        body = await request.json()
        self._counters.writes_per_push = max(0.0, float(body["writes_per_push"]))
        return self.json({"writes_per_push": self._counters.writes_per_push})


class BenchEntitiesView(HomeAssistantView):
    """GET `?config_entry_id=ID`: entities registered, enabled and with a state."""

    url = "/api/bench_noop/entities"
    name = "api:bench_noop:entities"

    def __init__(self, counters: BenchCounters) -> None:
        """Read entity counts through the given counters."""
        self._counters = counters

    async def get(self, request: web.Request) -> web.Response:
        """Return the counts as JSON."""
        entry_id = request.query.get("config_entry_id", "")
        return self.json(self._counters.entity_counts(entry_id))


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the webhooks, the event counter and the views, load the entities."""
    counters = BenchCounters(hass)
    hass.data[DATA_COUNTERS] = counters
    # Registered like the bajie_charging webhook (local_only=False), so both
    # pass the same checks in Home Assistant's webhook component.
    webhook.async_register(
        hass,
        DOMAIN,
        "Benchmark no-op",
        counters.webhook_id,
        counters.handle_noop_webhook,
        local_only=False,
    )
    webhook.async_register(
        hass,
        DOMAIN,
        "Benchmark no-op with writes",
        counters.writing_webhook_id,
        counters.handle_writing_webhook,
        local_only=False,
    )
    webhook.async_register(
        hass,
        DOMAIN,
        "Benchmark no-op with entities",
        counters.entities_webhook_id,
        counters.handle_entities_webhook,
        local_only=False,
    )
    # Loaded in a task, as the docstring of discovery.async_load_platform
    # advises, because setting up a base component can take a long time.
    # The platforms take their entities from hass.data[DATA_COUNTERS].
    for platform in (Platform.EVENT, Platform.SENSOR):
        hass.async_create_task(
            discovery.async_load_platform(hass, platform, DOMAIN, {}, config),
            f"{DOMAIN} {platform} platform",
        )
    hass.bus.async_listen(CABINET_EVENT, counters.count_cabinet_event)
    gc.callbacks.append(counters.track_garbage_collection)
    hass.http.register_view(BenchStatsView(counters))
    hass.http.register_view(BenchRecordingView(counters))
    hass.http.register_view(BenchWritingView(counters))
    hass.http.register_view(BenchEntitiesView(counters))
    return True
