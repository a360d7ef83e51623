"""Serve the `/_simulator` control paths: state, request log, faults, events, cabinets.

These paths exist only on the simulator. They take no credentials, are not
recorded and never get faults, so the demo and manual testing can drive the
fake cloud while a client talks to it.
"""

from __future__ import annotations

from dataclasses import asdict
import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .events import EventNotPossibleError
from .faults import FaultRule
from .scenario import ScenarioEvent
from .state import SimCabinet

if TYPE_CHECKING:
    from .cloud import Simulator

_LOGGER = logging.getLogger(__name__)

CONTROL_PREFIX = "/_simulator"


def add_control_routes(app: web.Application, sim: Simulator) -> None:
    """Register the control paths on the application."""
    control = ControlApi(sim)
    app.router.add_get(f"{CONTROL_PREFIX}/state", control.state)
    app.router.add_get(f"{CONTROL_PREFIX}/requests", control.requests)
    app.router.add_get(f"{CONTROL_PREFIX}/pushes", control.pushes)
    app.router.add_get(f"{CONTROL_PREFIX}/faults", control.faults)
    app.router.add_post(f"{CONTROL_PREFIX}/faults", control.add_fault)
    app.router.add_delete(f"{CONTROL_PREFIX}/faults", control.clear_faults)
    app.router.add_post(f"{CONTROL_PREFIX}/events", control.run_event)
    app.router.add_post(f"{CONTROL_PREFIX}/cabinets", control.add_cabinet)


def _client_error(status: int, message: str) -> web.Response:
    """Return a control error as `{"error": message}`."""
    return web.json_response({"error": message}, status=status)


async def _json_object(request: web.Request) -> dict[str, Any] | None:
    """Return the body as a JSON object, or None when it is not one."""
    try:
        payload = await request.json()
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def cabinet_json(cabinet: SimCabinet) -> dict[str, Any]:
    """Return a cabinet's full state, every slot included."""
    slots = []
    for slot, battery in cabinet.slots.items():
        entry: dict[str, Any] = {
            "slotNum": slot,
            "locked": slot in cabinet.locked_slots,
            "batteryId": None,
        }
        if battery is not None:
            entry |= {
                "batteryId": battery.battery_id,
                "vol": battery.charge,
                "faultType": battery.fault_type,
                "faultCause": battery.fault_cause,
            }
        slots.append(entry)
    return {
        "cabinetId": cabinet.cabinet_id,
        "qrCode": cabinet.qr_code,
        "online": cabinet.online,
        "signal": cabinet.signal,
        "ip": cabinet.ip,
        "shop": {"id": cabinet.shop.shop_id, "name": cabinet.shop.name},
        "posDeviceId": cabinet.pos_device_id,
        "posOnline": cabinet.pos_online,
        "rentableCount": cabinet.rentable_count,
        "returnableCount": cabinet.returnable_count,
        "slots": slots,
    }


class ControlApi:
    """Request handlers of the control paths."""

    def __init__(self, sim: Simulator) -> None:
        """Control `sim`."""
        self._sim = sim

    async def state(self, request: web.Request) -> web.Response:
        """Return cabinets, slots, push configuration, faults and counters."""
        del request
        return web.json_response(
            {
                "cabinets": [
                    cabinet_json(cabinet) for cabinet in self._sim.cabinets.values()
                ],
                "pushConfig": self._sim.push_config.to_json(),
                "faults": [rule.to_dict() for rule in self._sim.faults],
                "forbiddenSlotRequests": self._sim.forbidden_slot_requests,
                "requestCount": self._sim.request_count(),
                "pushCount": len(self._sim.pushes),
            }
        )

    async def requests(self, request: web.Request) -> web.Response:
        """Return the recorded API requests, filtered by `?path=` when given."""
        path = request.query.get("path")
        records = [
            asdict(record)
            for record in self._sim.requests
            if path is None or record.path == path
        ]
        return web.json_response({"requests": records})

    async def pushes(self, request: web.Request) -> web.Response:
        """Return the pushes sent, failed or skipped so far."""
        del request
        return web.json_response(
            {"pushes": [asdict(push) for push in self._sim.pushes]}
        )

    async def faults(self, request: web.Request) -> web.Response:
        """Return the active fault rules."""
        del request
        return web.json_response(
            {"faults": [rule.to_dict() for rule in self._sim.faults]}
        )

    async def add_fault(self, request: web.Request) -> web.Response:
        """Add the fault rule in the JSON body."""
        try:
            rule = FaultRule.from_dict(await request.json())
        except ValueError as err:
            return _client_error(400, f"Invalid fault rule: {err}")
        self._sim.add_fault(rule)
        _LOGGER.info("Fault added: %s", rule)
        return web.json_response(
            {"faults": [rule.to_dict() for rule in self._sim.faults]}
        )

    async def clear_faults(self, request: web.Request) -> web.Response:
        """Remove every fault rule."""
        del request
        self._sim.clear_faults()
        _LOGGER.info("Faults cleared")
        return web.json_response({"faults": []})

    async def run_event(self, request: web.Request) -> web.Response:
        """Make one event happen now and return the push bodies it caused.

        `event` is a scenario event (`rental`, `return`, `offline`, ...) or a push
        event type (`BATTERY_IN`, ...), which takes optional `eventData`
        overrides in `data`. `cabinetId` may be left out for scenario events.
        `notPushed` lists the event types of the bodies that the push
        configuration does not send anywhere.
        """
        payload = await _json_object(request)
        if payload is None:
            return _client_error(400, "Body must be a JSON object")

        event = payload.get("event")
        cabinet_id = payload.get("cabinetId")
        overrides = payload.get("data") or {}
        if not isinstance(event, str) or not event:
            return _client_error(400, f"event must be a non-empty string: {event!r}")
        if cabinet_id is not None and not isinstance(cabinet_id, str):
            return _client_error(400, f"cabinetId must be a string: {cabinet_id!r}")
        if not isinstance(overrides, dict):
            return _client_error(400, f"data must be an object: {overrides!r}")
        if cabinet_id is not None and cabinet_id not in self._sim.cabinets:
            return _client_error(404, f"Cabinet {cabinet_id} not found")

        try:
            if event in set(ScenarioEvent):
                bodies = await self._sim.run_scenario_event(
                    cabinet_id, ScenarioEvent(event)
                )
            elif cabinet_id is None:
                scenario_events = ", ".join(ScenarioEvent)
                return _client_error(
                    400,
                    f"cabinetId is required for {event}, which is not a scenario"
                    f" event ({scenario_events})",
                )
            else:
                bodies = [await self._sim.push_event(cabinet_id, event, **overrides)]
        except EventNotPossibleError as err:
            return _client_error(409, str(err))
        # The state changed either way, but the push configuration decides
        # which bodies were sent. The reply names the others, so a caller
        # does not wait for them.
        not_pushed = [
            body["event"]
            for body in bodies
            if not self._sim.push_config.url_for(body["event"])
        ]
        return web.json_response({"pushes": bodies, "notPushed": not_pushed})

    async def add_cabinet(self, request: web.Request) -> web.Response:
        """Bind a new cabinet to the account, pushing nothing, and return it.

        The optional JSON body `{"cabinetId": "..."}` names the cabinet;
        without it the id is a new one drawn from the seed. The cabinet is
        listed from now on, and events can be run for it.
        """
        cabinet_id = None
        if request.can_read_body:
            payload = await _json_object(request)
            if payload is None:
                return _client_error(400, "Body must be a JSON object")
            cabinet_id = payload.get("cabinetId")
            if cabinet_id is not None and (
                not isinstance(cabinet_id, str) or not cabinet_id.strip()
            ):
                return _client_error(
                    400, f"cabinetId must be a non-empty string: {cabinet_id!r}"
                )
        try:
            cabinet = self._sim.cabinets[self._sim.add_cabinet(cabinet_id)]
        except ValueError as err:
            return _client_error(409, str(err))
        _LOGGER.info("Cabinet %s added", cabinet.cabinet_id)
        return web.json_response(cabinet_json(cabinet), status=201)
