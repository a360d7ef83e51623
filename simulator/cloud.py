"""Run the simulated cloud: fleet, HTTP server, pushes and scenario loop."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
import contextlib
import copy
from datetime import datetime
import logging
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web
from yarl import URL

from .app import build_app
from .events import (
    EventData,
    EventKind,
    EventNotPossibleError,
    apply_event,
    build_body,
    offline_data,
)
from .faults import FaultRule, FaultSet
from .middleware import API_PREFIX, RecordedRequest
from .push import (
    DEFAULT_PUSH_TIMEOUT,
    PushConfig,
    PushSender,
    PushSubscription,
    SentPush,
)
from .scenario import (
    ScenarioEvent,
    apply_scenario_event,
    choose_event,
    possible_events,
)
from .state import FleetState, SimCabinet

_LOGGER = logging.getLogger(__name__)

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
DEFAULT_RESTART_DELAY = 1.0
# Offline periods of the scenario last this many scenario intervals.
_OFFLINE_INTERVALS = (3.0, 8.0)
_OFFLINE_BASE_SECONDS = 5.0
_SHUTDOWN_TIMEOUT = 5.0


class Simulator:
    """Local fake of the ChargeNow cloud for tests, the demo and manual trials.

    Build it, then either `await start()` to serve on a TCP port or run `app`
    in an aiohttp test server. State lives in memory and is deterministic for a
    given `seed`, apart from timestamps.
    """

    def __init__(
        self,
        *,
        cabinets: int = 5,
        slots: int = 8,
        username: str = "agent",
        password: str = "secret",  # noqa: S107 - a demo value, never a real one
        seed: int = 1,
        scenario_interval: float | None = None,
        timezone: str = "UTC",
        push_timeout: float = DEFAULT_PUSH_TIMEOUT,
        restart_delay: float = DEFAULT_RESTART_DELAY,
    ) -> None:
        """Generate the fleet. With `scenario_interval=None` the scenario stays off."""
        if scenario_interval is not None and scenario_interval <= 0:
            raise ValueError(
                f"scenario_interval must be above 0 seconds, got {scenario_interval}"
            )
        try:
            self._zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(
                f"unknown time zone {timezone!r}: use an IANA name such as "
                "Europe/Berlin"
            ) from err

        self.username = username
        self.password = password
        self.scenario_interval = scenario_interval
        self.restart_delay = restart_delay
        self.fleet = FleetState(cabinets=cabinets, slots=slots, seed=seed)
        self.push_config = PushConfig()
        self.requests: list[RecordedRequest] = []
        self.forbidden_slot_requests = 0
        """Eject requests with a missing, 0 or out-of-range slot, plus popall
        operations. The real cloud empties the whole cabinet on slot 0."""

        self.stopping = asyncio.Event()
        self._faults = FaultSet()
        self._pusher = PushSender(lambda: self.push_config, timeout=push_timeout)
        self._tasks: set[asyncio.Task[None]] = set()
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None

        self.app = build_app(self)
        self.app.cleanup_ctx.append(self._lifecycle)
        self.app.on_shutdown.append(self._on_shutdown)

    @property
    def base_url(self) -> str:
        """Return the API base URL of the running server."""
        if self._base_url is None:
            raise RuntimeError("the simulator is not serving: await start() first")
        return self._base_url

    @property
    def cabinets(self) -> dict[str, SimCabinet]:
        """Return the cabinets by id, in the order they were created."""
        return self.fleet.cabinets

    @property
    def cabinet_ids(self) -> list[str]:
        """Return the cabinet ids in the order they were created."""
        return list(self.fleet.cabinets)

    @property
    def pushes(self) -> list[SentPush]:
        """Return the pushes delivered, failed or skipped, oldest first."""
        return self._pusher.sent

    @property
    def faults(self) -> list[FaultRule]:
        """Return copies of the active fault rules with their remaining uses."""
        return self._faults.rules()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on `host` and `port` (0 picks a free port) and return the base URL."""
        if self._runner is not None:
            raise RuntimeError("the simulator is already serving")
        runner = web.AppRunner(
            self.app, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner

        bound_port = runner.addresses[0][1]
        self._base_url = str(
            URL.build(scheme="http", host=host, port=bound_port, path=API_PREFIX)
        )
        return self._base_url

    async def stop(self) -> None:
        """Stop serving, the scenario and pending pushes."""
        if self._runner is None:
            return
        runner, self._runner = self._runner, None
        await runner.cleanup()
        self._base_url = None

    def request_count(self, path: str | None = None) -> int:
        """Return the number of API requests, or of those to `path`."""
        if path is None:
            return len(self.requests)
        return sum(1 for record in self.requests if record.path == path)

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        self.requests.clear()

    def set_push_url(self, url: str) -> None:
        """Push every event kind to `url`, as if configured through the API."""
        self.push_config = PushConfig(
            url, [PushSubscription(kind.value) for kind in EventKind]
        )

    def add_fault(self, rule: FaultRule) -> None:
        """Apply `rule` to the matching API requests that follow."""
        self._faults.add(rule)

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self._faults.clear()

    def take_fault(self, path: str) -> FaultRule | None:
        """Return the fault for a request to `path`, using it up once."""
        return self._faults.take(path)

    def set_online(self, cabinet_id: str, online: bool) -> None:
        """Set a cabinet online or offline without pushing anything."""
        cabinet = self._cabinet(cabinet_id)
        cabinet.online = online
        if online:
            cabinet.online_time = self.now_text()
        else:
            cabinet.offline_time = self.now_text()

    def add_cabinet(self, cabinet_id: str | None = None) -> str:
        """Add a cabinet without pushing anything and return its id.

        Without `cabinet_id`, the id is a new one drawn from the seed.
        """
        return self.fleet.add_cabinet(cabinet_id).cabinet_id

    def remove_cabinet(self, cabinet_id: str) -> None:
        """Remove a cabinet from the fleet without pushing anything."""
        self._cabinet(cabinet_id)
        del self.fleet.cabinets[cabinet_id]

    def now_text(self) -> str:
        """Return the current time in the configured zone, as pushes carry it."""
        return datetime.now(self._zone).strftime(TIMESTAMP_FORMAT)

    def build_push(
        self, cabinet_id: str, event_kind: str, **event_data_overrides: Any
    ) -> dict[str, Any]:
        """Return the body that `push_event` would send now, changing nothing."""
        fleet = copy.deepcopy(self.fleet)
        return self._apply_push(fleet, cabinet_id, event_kind, event_data_overrides)

    async def push_event(
        self, cabinet_id: str, event_kind: str, **event_data_overrides: Any
    ) -> dict[str, Any]:
        """Apply one event to a cabinet, push it and return the body sent.

        The call returns once the push was delivered, failed or skipped. A kind
        that is not an `EventKind` changes nothing and sends `cabinetId` plus the
        overrides. Overrides replace `eventData` fields verbatim. Valid slot,
        battery, order and fault fields among them also steer the change. A
        cabinet sent offline this way stays offline until CABINET_ONLINE or
        `set_online`.
        """
        self._require_running()
        body = self._apply_push(
            self.fleet, cabinet_id, event_kind, event_data_overrides
        )
        await self._pusher.enqueue(body)
        return body

    async def send_push(self, body: dict[str, Any]) -> SentPush | None:
        """Push a body as it is, changing nothing, and return the delivery record.

        This is how a cloud resends a push or delivers one late: pass a body
        that `push_event` returned, or a copy with another timestamp. The
        record is None when no push URL is enabled for the body's event.
        """
        self._require_running()
        return await self._pusher.enqueue(body)

    async def run_scenario_event(
        self,
        cabinet_id: str | None = None,
        event: ScenarioEvent | str | None = None,
    ) -> list[dict[str, Any]]:
        """Make one scenario event happen, push it and return the bodies sent.

        Without a cabinet or an event, the scenario picks them. The call returns
        once every push was delivered, failed or skipped. An event name outside
        `ScenarioEvent` raises ValueError.
        """
        self._require_running()
        scenario_event = None if event is None else ScenarioEvent(event)
        outcomes = self._run_scenario_event(cabinet_id, scenario_event)
        bodies = [body for body, _ in outcomes]
        await asyncio.gather(*(outcome for _, outcome in outcomes))
        return bodies

    async def wait_for_pushes(self) -> None:
        """Wait until every queued push was delivered, failed or skipped."""
        await self._pusher.wait_idle()

    def queue_pushes(
        self, pushes: list[tuple[EventKind, EventData]]
    ) -> list[tuple[dict[str, Any], asyncio.Future[SentPush | None]]]:
        """Queue push bodies for delivery in order and return them with outcomes."""
        now = self.now_text()
        queued = []
        for kind, data in pushes:
            body = build_body(self.username, kind, now, data)
            queued.append((body, self._pusher.enqueue(body)))
        return queued

    def restart_cabinet(self, cabinet: SimCabinet) -> None:
        """Take a cabinet offline now and bring it back after `restart_delay`."""
        cabinet.online = False
        cabinet.offline_time = self.now_text()
        self.queue_pushes([(EventKind.CABINET_OFFLINE, offline_data(cabinet))])
        self._spawn(
            self._bring_back_online(cabinet.cabinet_id, self.restart_delay),
            f"restart {cabinet.cabinet_id}",
        )

    async def sleep_unless_stopping(self, seconds: float) -> None:
        """Sleep for `seconds`, or less when the simulator stops meanwhile."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), seconds)

    def _apply_push(
        self,
        fleet: FleetState,
        cabinet_id: str,
        event_kind: str,
        overrides: dict[str, Any],
    ) -> dict[str, Any]:
        """Apply one push kind to `fleet` and return the body with the overrides."""
        cabinet = fleet.cabinets.get(cabinet_id)
        if cabinet is None:
            raise KeyError(f"cabinet {cabinet_id} is not in the fleet")

        now = self.now_text()
        if event_kind in set(EventKind):
            data = apply_event(fleet, cabinet, EventKind(event_kind), overrides, now)
        else:
            data = {"cabinetId": cabinet_id}
        return build_body(self.username, event_kind, now, data | overrides)

    def _run_scenario_event(
        self, cabinet_id: str | None, event: ScenarioEvent | None
    ) -> list[tuple[dict[str, Any], asyncio.Future[SentPush | None]]]:
        """Apply a scenario event, queue its pushes and return them."""
        cabinet, event = self._pick_scenario_event(cabinet_id, event)
        pushes = apply_scenario_event(self.fleet, cabinet, event, self.now_text())
        _LOGGER.info(
            "Scenario: %s at %s (%s)",
            event,
            cabinet.cabinet_id,
            ", ".join(kind for kind, _ in pushes),
        )

        if event is ScenarioEvent.OFFLINE:
            interval = self.scenario_interval or _OFFLINE_BASE_SECONDS
            delay = self.fleet.rng.uniform(*_OFFLINE_INTERVALS) * interval
            self._spawn(
                self._bring_back_online(cabinet.cabinet_id, delay),
                f"offline period of {cabinet.cabinet_id}",
            )
        return self.queue_pushes(pushes)

    def _pick_scenario_event(
        self, cabinet_id: str | None, event: ScenarioEvent | None
    ) -> tuple[SimCabinet, ScenarioEvent]:
        """Return the cabinet and event to apply, choosing what was not given."""
        rng = self.fleet.rng
        if cabinet_id is not None:
            cabinet = self._cabinet(cabinet_id)
            if event is None:
                event = rng.choice(possible_events(cabinet))
            return cabinet, event

        if event is None:
            choice = choose_event(self.fleet)
            if choice is None:
                raise EventNotPossibleError("the fleet has no cabinets")
            return choice

        candidates = [
            cabinet
            for cabinet in self.fleet.cabinets.values()
            if event in possible_events(cabinet)
        ]
        if not candidates:
            raise EventNotPossibleError(f"no cabinet allows the event {event}")
        return rng.choice(candidates), event

    async def _bring_back_online(self, cabinet_id: str, delay: float) -> None:
        """Bring a cabinet back online after `delay` seconds, if still offline."""
        await asyncio.sleep(delay)
        cabinet = self.fleet.cabinets.get(cabinet_id)
        if cabinet is None or cabinet.online:
            return
        self._run_scenario_event(cabinet_id, ScenarioEvent.ONLINE)

    async def _run_scenario(self, interval: float) -> None:
        """Apply one random scenario event every `interval` seconds."""
        while True:
            await asyncio.sleep(interval)
            try:
                self._run_scenario_event(None, None)
            except EventNotPossibleError as err:
                _LOGGER.debug("Scenario event skipped: %s", err)

    def _spawn(self, coroutine: Coroutine[Any, Any, None], name: str) -> None:
        """Run a background task that stops with the simulator."""
        task = asyncio.create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._forget_task)

    def _forget_task(self, task: asyncio.Task[None]) -> None:
        """Drop a finished background task and log the error it ended with."""
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            _LOGGER.error(
                "Background task %s failed: %s", task.get_name(), error, exc_info=error
            )

    def _cabinet(self, cabinet_id: str) -> SimCabinet:
        """Return the cabinet or raise KeyError naming it."""
        cabinet = self.fleet.cabinets.get(cabinet_id)
        if cabinet is None:
            raise KeyError(f"cabinet {cabinet_id} is not in the fleet")
        return cabinet

    def _require_running(self) -> None:
        """Raise RuntimeError unless the application is running."""
        if not self._pusher.running:
            raise RuntimeError(
                "the simulator is not running: await start() or run its app first"
            )

    async def _lifecycle(self, app: web.Application) -> AsyncIterator[None]:
        """Start pushes and the scenario with the application, stop them after."""
        del app
        self.stopping.clear()
        await self._pusher.start()
        if self.scenario_interval is not None:
            self._spawn(self._run_scenario(self.scenario_interval), "scenario")

        yield

        self.stopping.set()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self._pusher.stop()

    async def _on_shutdown(self, app: web.Application) -> None:
        """Release requests held by hang and delay faults before the server stops."""
        del app
        self.stopping.set()
