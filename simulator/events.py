"""Change cabinets the way pushed events describe, and build their `eventData`."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from .state import (
    MAX_SIGNAL,
    MIN_SIGNAL,
    FleetState,
    RentedBattery,
    SimBattery,
    SimCabinet,
)

type EventData = dict[str, Any]


class EventKind(StrEnum):
    """Push event type, the `event` field of a push body."""

    CABINET_STATUS = "CABINET_STATUS"
    CABINET_ONLINE = "CABINET_ONLINE"
    CABINET_OFFLINE = "CABINET_OFFLINE"
    BATTERY_IN = "BATTERY_IN"
    BATTERY_BORROW_OUT = "BATTERY_BORROW_OUT"
    BATTERY_ABNORMAL_WARNING = "BATTERY_ABNORMAL_WARNING"
    BATTERY_POPUP = "BATTERY_POPUP"
    ADMIN_RENTAL_ORDER = "ADMIN_RENTAL_ORDER"
    POS_INFO_STATUS = "POS_INFO_STATUS"


# Fault codes of a failed eject as the cloud documents them. Its documentation
# gives 3, 4 and 5 the same meaning.
EJECT_FAULT_CAUSES: dict[int, str] = {
    1: "Battery authorisation failed.",
    2: "Battery ID not found.",
    3: "Ejection failed.",
    4: "Ejection failed.",
    5: "Ejection failed.",
    9: "The rental command to the cabinet timed out.",
}

# The cloud publishes no code table for battery faults, so these are invented.
# They stay clear of the eject failure codes above, because a receiver may read
# every `faultType` with that table.
ABNORMAL_FAULT_CAUSES: dict[int, str] = {
    11: "Battery temperature too high.",
    12: "Battery voltage abnormal.",
    13: "Battery not charging.",
}


class EventNotPossibleError(ValueError):
    """Error for an event that the cabinet's current state does not allow."""


def build_body(
    agent_account: str, kind: str, timestamp: str, data: EventData
) -> EventData:
    """Wrap `eventData` in the push body."""
    return {
        "agentAccount": agent_account,
        "event": kind,
        "timestamp": timestamp,
        "eventData": data,
    }


def counters(cabinet: SimCabinet) -> EventData:
    """Return the slot counters that several event kinds carry."""
    return {
        "totalCount": cabinet.slot_count,
        "rentableCount": cabinet.rentable_count,
        "returnableCount": cabinet.returnable_count,
    }


def status_data(cabinet: SimCabinet) -> EventData:
    """Build the `eventData` of CABINET_STATUS, listing occupied slots only."""
    battery_list = [
        {
            "batteryFaultCause": battery.fault_cause,
            "batteryFaultType": battery.fault_type,
            "batteryId": battery.battery_id,
            "faultCause": "",
            "faultType": 0,
            "lockStatus": 1 if slot in cabinet.locked_slots else 0,
            "slotNum": slot,
            "vol": battery.charge,
        }
        for slot, battery in cabinet.slots.items()
        if battery is not None
    ]
    return {
        "cabinetId": cabinet.cabinet_id,
        "infoStatus": "online" if cabinet.online else "offline",
        **counters(cabinet),
        "signal": str(cabinet.signal),
        "clientIp": cabinet.ip,
        "batteryList": battery_list,
    }


def online_data(cabinet: SimCabinet) -> EventData:
    """Build the `eventData` of CABINET_ONLINE."""
    return {
        "cabinetId": cabinet.cabinet_id,
        "infoStatus": "online",
        "onlineTime": cabinet.online_time,
        "clientIp": cabinet.ip,
        "signal": str(cabinet.signal),
    }


def offline_data(cabinet: SimCabinet) -> EventData:
    """Build the `eventData` of CABINET_OFFLINE."""
    return {
        "cabinetId": cabinet.cabinet_id,
        "infoStatus": "offline",
        "offlineTime": cabinet.offline_time,
    }


def battery_in_data(
    cabinet: SimCabinet, slot: int, battery_id: str, order_id: str
) -> EventData:
    """Build the `eventData` of BATTERY_IN."""
    return {
        "cabinetId": cabinet.cabinet_id,
        "returnBatteryId": battery_id,
        "returnSlot": slot,
        "orderId": order_id,
        **counters(cabinet),
    }


def borrow_out_data(
    cabinet: SimCabinet, slot: int, battery_id: str, order_id: str
) -> EventData:
    """Build the `eventData` of BATTERY_BORROW_OUT."""
    return {
        "cabinetId": cabinet.cabinet_id,
        "outBatteryId": battery_id,
        "outSlot": slot,
        "orderId": order_id,
        "faultType": 0,
        "faultCause": "",
        **counters(cabinet),
    }


def abnormal_data(cabinet: SimCabinet, slot: int, battery: SimBattery) -> EventData:
    """Build the `eventData` of BATTERY_ABNORMAL_WARNING."""
    return {
        "cabinetId": cabinet.cabinet_id,
        "abnormalBatteryId": battery.battery_id,
        "slotNum": slot,
        "faultType": battery.fault_type,
        "faultCause": battery.fault_cause,
    }


def popup_data(
    cabinet: SimCabinet,
    slot: int,
    battery_id: str,
    *,
    fault_type: int = 0,
    fault_cause: str = "",
) -> EventData:
    """Build the `eventData` of BATTERY_POPUP, where fault type 0 means ejected."""
    return {
        "cabinetId": cabinet.cabinet_id,
        "outBatteryId": battery_id,
        "outSlot": slot,
        "outStatus": "0" if fault_type == 0 else "1",
        "faultType": fault_type,
        "faultCause": fault_cause,
    }


def admin_rental_data(
    cabinet: SimCabinet, slot: int, battery_id: str, order_id: str
) -> EventData:
    """Build the `eventData` of ADMIN_RENTAL_ORDER."""
    return {
        "cabinetId": cabinet.cabinet_id,
        "orderId": order_id,
        "outBatteryId": battery_id,
        "outSlot": slot,
    }


def pos_data(cabinet: SimCabinet) -> EventData:
    """Build the `eventData` of POS_INFO_STATUS."""
    return {
        "cabinetId": cabinet.cabinet_id,
        "posDeviceId": cabinet.pos_device_id,
        "infoStatus": "online" if cabinet.pos_online else "offline",
    }


def take_battery(
    fleet: FleetState, cabinet: SimCabinet, slot: int, order_id: str | None
) -> SimBattery:
    """Remove the battery from `slot`. With an order id it joins the rented pool."""
    battery = cabinet.slots[slot]
    if battery is None:
        raise EventNotPossibleError(
            f"slot {slot} of cabinet {cabinet.cabinet_id} is empty"
        )
    cabinet.slots[slot] = None
    if order_id:
        fleet.rented.append(RentedBattery(battery, order_id))
    return battery


def insert_battery(
    fleet: FleetState, cabinet: SimCabinet, slot: int, battery_id: str | None = None
) -> tuple[SimBattery, str]:
    """Put a rented battery, or a new one, into `slot` and return it with its order.

    Without `battery_id` a random battery of the rented pool comes back. A
    `battery_id` outside the pool, or an empty pool, creates a new battery with a
    new order id.
    """
    if cabinet.slots[slot] is not None:
        raise EventNotPossibleError(
            f"slot {slot} of cabinet {cabinet.cabinet_id} is not empty"
        )

    rented = _find_rented(fleet, battery_id)
    if rented is not None:
        fleet.rented.remove(rented)
        battery, order_id = rented.battery, rented.order_id
    else:
        battery = fleet.new_battery(fleet.rng.randint(20, 90), battery_id)
        order_id = fleet.new_order_id()

    cabinet.slots[slot] = battery
    return battery, order_id


def _find_rented(fleet: FleetState, battery_id: str | None) -> RentedBattery | None:
    """Return the rented battery with `battery_id`, or a random one without it."""
    if battery_id is None:
        if not fleet.rented:
            return None
        return fleet.rented[fleet.rng.randrange(len(fleet.rented))]
    for rented in fleet.rented:
        if rented.battery.battery_id == battery_id:
            return rented
    return None


def drift_status(fleet: FleetState, cabinet: SimCabinet) -> None:
    """Move the signal by up to 3 steps and charge batteries below 100 %."""
    drift = fleet.rng.randint(-3, 3)
    cabinet.signal = min(MAX_SIGNAL, max(MIN_SIGNAL, cabinet.signal + drift))
    for battery in cabinet.slots.values():
        if battery is not None and battery.charge < 100:
            battery.charge = min(100, battery.charge + fleet.rng.randint(1, 5))


def pick_slot(
    fleet: FleetState, cabinet: SimCabinet, requested: object, *, occupied: bool
) -> int:
    """Return the requested slot after checking it, or a random unlocked one."""
    if requested is not None:
        slot = as_int(requested)
        if slot is None or slot not in cabinet.slots:
            raise EventNotPossibleError(
                f"slot {requested!r} does not exist in cabinet {cabinet.cabinet_id}"
            )
        if occupied and cabinet.slots[slot] is None:
            raise EventNotPossibleError(
                f"slot {slot} of cabinet {cabinet.cabinet_id} is empty"
            )
        if not occupied and cabinet.slots[slot] is not None:
            raise EventNotPossibleError(
                f"slot {slot} of cabinet {cabinet.cabinet_id} is not empty"
            )
        return slot

    if occupied:
        candidates = cabinet.occupied_slots(include_locked=False)
        missing = "no unlocked slot with a battery"
    else:
        candidates = cabinet.empty_slots(include_locked=False)
        missing = "no unlocked empty slot"
    if not candidates:
        raise EventNotPossibleError(f"cabinet {cabinet.cabinet_id} has {missing}")
    return fleet.rng.choice(candidates)


def as_int(value: object) -> int | None:
    """Return `value` as an int when it is one or a decimal string, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def apply_event(
    fleet: FleetState,
    cabinet: SimCabinet,
    kind: EventKind,
    overrides: EventData,
    now: str,
) -> EventData:
    """Apply one event of `kind` to the cabinet and return its `eventData`.

    Slot, battery, order and fault fields in `overrides` steer the change when
    they are valid. The caller merges all overrides into the body afterwards.
    """
    match kind:
        case EventKind.CABINET_STATUS:
            drift_status(fleet, cabinet)
            signal = as_int(overrides.get("signal"))
            if signal is not None and MIN_SIGNAL <= signal <= MAX_SIGNAL:
                cabinet.signal = signal
            return status_data(cabinet)

        case EventKind.CABINET_ONLINE:
            cabinet.online = True
            cabinet.online_time = now
            return online_data(cabinet)

        case EventKind.CABINET_OFFLINE:
            cabinet.online = False
            cabinet.offline_time = now
            return offline_data(cabinet)

        case EventKind.BATTERY_IN:
            slot = pick_slot(
                fleet, cabinet, overrides.get("returnSlot"), occupied=False
            )
            requested_id = overrides.get("returnBatteryId")
            battery, order_id = insert_battery(
                fleet,
                cabinet,
                slot,
                requested_id if isinstance(requested_id, str) else None,
            )
            return battery_in_data(cabinet, slot, battery.battery_id, order_id)

        case EventKind.BATTERY_BORROW_OUT | EventKind.ADMIN_RENTAL_ORDER:
            slot = pick_slot(fleet, cabinet, overrides.get("outSlot"), occupied=True)
            requested_order = overrides.get("orderId")
            order_id = (
                requested_order
                if isinstance(requested_order, str) and requested_order
                else fleet.new_order_id()
            )
            battery = take_battery(fleet, cabinet, slot, order_id)
            if kind is EventKind.ADMIN_RENTAL_ORDER:
                return admin_rental_data(cabinet, slot, battery.battery_id, order_id)
            return borrow_out_data(cabinet, slot, battery.battery_id, order_id)

        case EventKind.BATTERY_ABNORMAL_WARNING:
            slot = pick_slot(fleet, cabinet, overrides.get("slotNum"), occupied=True)
            battery = _battery_in(cabinet, slot)
            fault_type = as_int(overrides.get("faultType"))
            if fault_type is None:
                fault_type = fleet.rng.choice(sorted(ABNORMAL_FAULT_CAUSES))
            fault_cause = overrides.get("faultCause")
            battery.fault_type = fault_type
            battery.fault_cause = (
                fault_cause
                if isinstance(fault_cause, str)
                else ABNORMAL_FAULT_CAUSES.get(fault_type, "Battery abnormal.")
            )
            return abnormal_data(cabinet, slot, battery)

        case EventKind.BATTERY_POPUP:
            return _apply_popup(fleet, cabinet, overrides)

        case EventKind.POS_INFO_STATUS:
            if not cabinet.pos_device_id:
                raise EventNotPossibleError(
                    f"cabinet {cabinet.cabinet_id} has no POS terminal"
                )
            requested_status = overrides.get("infoStatus")
            if requested_status in {"online", "offline"}:
                cabinet.pos_online = requested_status == "online"
            else:
                cabinet.pos_online = not cabinet.pos_online
            return pos_data(cabinet)


def _apply_popup(
    fleet: FleetState, cabinet: SimCabinet, overrides: EventData
) -> EventData:
    """Apply an eject result: outStatus "0" removes the battery, else it fails."""
    slot = pick_slot(fleet, cabinet, overrides.get("outSlot"), occupied=True)
    if str(overrides.get("outStatus", "1")) == "0":
        battery = take_battery(fleet, cabinet, slot, None)
        return popup_data(cabinet, slot, battery.battery_id)

    battery = _battery_in(cabinet, slot)
    fault_type = as_int(overrides.get("faultType"))
    if fault_type is None or fault_type == 0:
        fault_type = fleet.rng.choice(sorted(EJECT_FAULT_CAUSES))
    return popup_data(
        cabinet,
        slot,
        battery.battery_id,
        fault_type=fault_type,
        fault_cause=EJECT_FAULT_CAUSES.get(fault_type, "Ejection failed."),
    )


def _battery_in(cabinet: SimCabinet, slot: int) -> SimBattery:
    """Return the battery in a slot already checked to be occupied."""
    battery = cabinet.slots[slot]
    if battery is None:
        raise EventNotPossibleError(
            f"slot {slot} of cabinet {cabinet.cabinet_id} is empty"
        )
    return battery
