"""Pick and apply the random everyday events of the simulated fleet."""

from __future__ import annotations

from enum import StrEnum

from .events import (
    EventData,
    EventKind,
    admin_rental_data,
    apply_event,
    borrow_out_data,
    pick_slot,
    status_data,
    take_battery,
)
from .state import FleetState, SimCabinet


class ScenarioEvent(StrEnum):
    """Thing that happens at a cabinet, pushed as one or more events."""

    RENTAL = "rental"
    RETURN = "return"
    STATUS = "status"
    OFFLINE = "offline"
    ONLINE = "online"
    ABNORMAL = "abnormal"
    EJECT_FAILED = "eject_failed"
    ADMIN_RENTAL = "admin_rental"
    POS_STATUS = "pos_status"


# Relative frequencies: mostly rentals, returns and status reports.
_WEIGHTS: dict[ScenarioEvent, int] = {
    ScenarioEvent.RENTAL: 30,
    ScenarioEvent.RETURN: 28,
    ScenarioEvent.STATUS: 20,
    ScenarioEvent.OFFLINE: 3,
    ScenarioEvent.ABNORMAL: 4,
    ScenarioEvent.EJECT_FAILED: 5,
    ScenarioEvent.ADMIN_RENTAL: 4,
    ScenarioEvent.POS_STATUS: 3,
}

type PushList = list[tuple[EventKind, EventData]]


def possible_events(cabinet: SimCabinet) -> list[ScenarioEvent]:
    """Return the scenario events that the cabinet's state allows now."""
    if not cabinet.online:
        return [ScenarioEvent.ONLINE]

    events = [ScenarioEvent.STATUS, ScenarioEvent.OFFLINE]
    if cabinet.occupied_slots(include_locked=False):
        events += [
            ScenarioEvent.RENTAL,
            ScenarioEvent.ABNORMAL,
            ScenarioEvent.EJECT_FAILED,
            ScenarioEvent.ADMIN_RENTAL,
        ]
    if cabinet.empty_slots(include_locked=False):
        events.append(ScenarioEvent.RETURN)
    if cabinet.pos_device_id:
        events.append(ScenarioEvent.POS_STATUS)
    return events


def choose_event(fleet: FleetState) -> tuple[SimCabinet, ScenarioEvent] | None:
    """Pick a random online cabinet and an event it allows, or None without cabinets.

    When every cabinet is offline, one of them comes back online.
    """
    if not fleet.cabinets:
        return None

    online = [cabinet for cabinet in fleet.cabinets.values() if cabinet.online]
    if not online:
        cabinet = fleet.rng.choice(list(fleet.cabinets.values()))
        return cabinet, ScenarioEvent.ONLINE

    cabinet = fleet.rng.choice(online)
    events = possible_events(cabinet)
    weights = [_WEIGHTS.get(event, 1) for event in events]
    return cabinet, fleet.rng.choices(events, weights)[0]


def apply_scenario_event(
    fleet: FleetState, cabinet: SimCabinet, event: ScenarioEvent, now: str
) -> PushList:
    """Apply the event to the cabinet and return the pushes it causes, in order."""
    match event:
        case ScenarioEvent.RENTAL:
            borrow = apply_event(fleet, cabinet, EventKind.BATTERY_BORROW_OUT, {}, now)
            return [
                (EventKind.BATTERY_BORROW_OUT, borrow),
                (EventKind.CABINET_STATUS, status_data(cabinet)),
            ]

        case ScenarioEvent.RETURN:
            returned = apply_event(fleet, cabinet, EventKind.BATTERY_IN, {}, now)
            return [
                (EventKind.BATTERY_IN, returned),
                (EventKind.CABINET_STATUS, status_data(cabinet)),
            ]

        case ScenarioEvent.STATUS:
            status = apply_event(fleet, cabinet, EventKind.CABINET_STATUS, {}, now)
            return [(EventKind.CABINET_STATUS, status)]

        case ScenarioEvent.OFFLINE:
            offline = apply_event(fleet, cabinet, EventKind.CABINET_OFFLINE, {}, now)
            return [(EventKind.CABINET_OFFLINE, offline)]

        case ScenarioEvent.ONLINE:
            online = apply_event(fleet, cabinet, EventKind.CABINET_ONLINE, {}, now)
            return [
                (EventKind.CABINET_ONLINE, online),
                (EventKind.CABINET_STATUS, status_data(cabinet)),
            ]

        case ScenarioEvent.ABNORMAL:
            kind = EventKind.BATTERY_ABNORMAL_WARNING
            return [(kind, apply_event(fleet, cabinet, kind, {}, now))]

        case ScenarioEvent.EJECT_FAILED:
            # BATTERY_POPUP without outStatus "0" is a failed eject.
            kind = EventKind.BATTERY_POPUP
            return [(kind, apply_event(fleet, cabinet, kind, {}, now))]

        case ScenarioEvent.ADMIN_RENTAL:
            return _admin_rental(fleet, cabinet)

        case ScenarioEvent.POS_STATUS:
            kind = EventKind.POS_INFO_STATUS
            return [(kind, apply_event(fleet, cabinet, kind, {}, now))]


def _admin_rental(fleet: FleetState, cabinet: SimCabinet) -> PushList:
    """Rent a battery out by an administrator's order."""
    slot = pick_slot(fleet, cabinet, None, occupied=True)
    order_id = fleet.new_order_id()
    battery = take_battery(fleet, cabinet, slot, order_id)
    return [
        (
            EventKind.ADMIN_RENTAL_ORDER,
            admin_rental_data(cabinet, slot, battery.battery_id, order_id),
        ),
        (
            EventKind.BATTERY_BORROW_OUT,
            borrow_out_data(cabinet, slot, battery.battery_id, order_id),
        ),
        (EventKind.CABINET_STATUS, status_data(cabinet)),
    ]
