"""Tests of push parsing, fault reasons, resend memory and applying pushes."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest

from custom_components.bajie_charging.api import Battery, Cabinet
from custom_components.bajie_charging.api.push import (
    MAX_EXTRA_FIELDS,
    MAX_ID_LENGTH,
    MAX_SLOT,
    MAX_TEXT_LENGTH,
    FaultReason,
    InvalidPushError,
    PushEvent,
    RecentPushes,
    apply_push,
    fault_reason,
    is_abnormal,
    parse_push,
)

CABINET_ID = "BJX01553"


def _body(kind: str, **data: Any) -> dict[str, Any]:
    return {
        "agentAccount": "agent",
        "event": kind,
        "timestamp": "2026-12-04 15:04:05",
        "eventData": {"cabinetId": CABINET_ID, **data},
    }


def _cabinet(batteries: tuple[Battery, ...] | None) -> Cabinet:
    return Cabinet(
        cabinet_id=CABINET_ID,
        online=True,
        total_slots=4,
        rentable=2,
        returnable=2,
        batteries=batteries,
    )


TWO_BATTERIES = (
    Battery(slot=1, battery_id="BAT1", charge=80),
    Battery(slot=3, battery_id="BAT3", charge=40),
)


def test_status_parsed() -> None:
    """CABINET_STATUS gives counters, signal and the battery list."""
    push = parse_push(
        _body(
            "CABINET_STATUS",
            infoStatus="online",
            totalCount="8",
            rentableCount=1,
            returnableCount="7",
            signal="31",
            clientIp="198.51.100.7",
            batteryList=[
                {
                    "batteryFaultCause": "",
                    "batteryFaultType": 0,
                    "batteryId": "BAT0000001",
                    "faultCause": "",
                    "faultType": 0,
                    "lockStatus": 0,
                    "slotNum": 1,
                    "vol": 87,
                }
            ],
        )
    )

    assert push.online is True
    assert (push.total_slots, push.rentable, push.returnable) == (8, 1, 7)
    assert push.signal == 31
    assert push.batteries == (
        Battery(slot=1, battery_id="BAT0000001", charge=87, fault_type=0),
    )
    assert push.timestamp == datetime(2026, 12, 4, 15, 4, 5)
    assert push.fault_reason is None


def test_online_and_offline_parsed() -> None:
    """CABINET_ONLINE and CABINET_OFFLINE set the state and keep their times."""
    online = parse_push(
        _body("CABINET_ONLINE", onlineTime="2026-12-04 15:00:00", signal="20")
    )
    offline = parse_push(_body("CABINET_OFFLINE", offlineTime="2026-12-04 16:00:00"))

    assert online.online is True
    assert online.online_time == datetime(2026, 12, 4, 15, 0, 0)
    assert offline.online is False
    assert offline.offline_time == datetime(2026, 12, 4, 16, 0, 0)


@pytest.mark.parametrize(
    ("kind", "data", "slot", "battery_id"),
    [
        ("BATTERY_IN", {"returnSlot": "2", "returnBatteryId": "BAT2"}, 2, "BAT2"),
        ("BATTERY_BORROW_OUT", {"outSlot": 3, "outBatteryId": "BAT3"}, 3, "BAT3"),
        (
            "BATTERY_ABNORMAL_WARNING",
            {"slotNum": 4, "abnormalBatteryId": "BAT4"},
            4,
            "BAT4",
        ),
        ("BATTERY_POPUP", {"outSlot": 5, "outBatteryId": "BAT5"}, 5, "BAT5"),
        ("ADMIN_RENTAL_ORDER", {"outSlot": 6, "outBatteryId": "BAT6"}, 6, "BAT6"),
    ],
)
def test_battery_kinds_name_slot(
    kind: str, data: dict[str, Any], slot: int, battery_id: str
) -> None:
    """Each battery kind reads its slot and battery from its own fields."""
    push = parse_push(_body(kind, orderId="O-1", **data))

    assert push.slot == slot
    assert push.battery_id == battery_id
    assert push.order_id == "O-1"


def test_pos_status_leaves_cabinet_online_alone() -> None:
    """POS_INFO_STATUS is about the terminal, not about the cabinet."""
    push = parse_push(
        _body("POS_INFO_STATUS", posDeviceId="POS1", infoStatus="offline")
    )

    assert push.online is None
    assert push.pos_online is False
    assert push.pos_device_id == "POS1"


@pytest.mark.parametrize(
    ("value", "expected"), [("0", 0), (31, 31), ("99", None), (-1, None), ("x", None)]
)
def test_signal_range(value: object, expected: int | None) -> None:
    """Signal quality outside 0 to 31, the modem's 99 included, is unknown."""
    assert parse_push(_body("CABINET_STATUS", signal=value)).signal == expected


def test_missing_timestamp_is_none() -> None:
    """A push without a timestamp parses with timestamp None."""
    body = _body("CABINET_OFFLINE")
    del body["timestamp"]

    assert parse_push(body).timestamp is None


def test_unknown_kind_keeps_plain_fields() -> None:
    """An unknown kind keeps plain fields in snake_case, without addresses."""
    push = parse_push(
        _body(
            "DOOR_OPENED",
            doorNumber="2",
            isForced=False,
            clientIp="198.51.100.7",
            clientPort="4000",
            ipAddress="198.51.100.8",
            geoHash="u2edk",
            nested={"a": 1},
            empty=None,
        )
    )

    assert push.is_known_kind is False
    assert dict(push.extra_fields) == {"door_number": "2", "is_forced": False}


def test_unknown_kind_fields_bounded() -> None:
    """At most MAX_EXTRA_FIELDS fields of an unknown kind are kept."""
    many = {f"field{number}": number for number in range(MAX_EXTRA_FIELDS + 10)}

    assert len(parse_push(_body("NEW_KIND", **many)).extra_fields) == MAX_EXTRA_FIELDS


def test_known_kind_keeps_no_extra_fields() -> None:
    """A known kind keeps only its interpreted fields."""
    assert parse_push(_body("CABINET_OFFLINE", remark="x")).extra_fields == ()


@pytest.mark.parametrize(
    "body",
    [
        {"event": "CABINET_STATUS"},
        {"event": "cabinet status!", "eventData": {"cabinetId": CABINET_ID}},
        {"event": "CABINET_STATUS", "eventData": {"cabinetId": "bad id with spaces"}},
    ],
    ids=["no-data", "bad-event-name", "bad-cabinet-id"],
)
def test_invalid_push_rejected(body: dict[str, Any]) -> None:
    """A body without a valid event name, data or cabinet id raises."""
    with pytest.raises(InvalidPushError):
        parse_push(body)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (None, FaultReason.OTHER),
        (0, FaultReason.OTHER),
        (1, FaultReason.BATTERY_AUTHORIZATION_FAILED),
        (2, FaultReason.BATTERY_ID_NOT_FOUND),
        (3, FaultReason.EJECT_FAILED),
        (4, FaultReason.EJECT_FAILED),
        (5, FaultReason.EJECT_FAILED),
        (6, FaultReason.OTHER),
        (9, FaultReason.COMMAND_TIMED_OUT),
    ],
)
def test_fault_reason_table(code: int | None, reason: FaultReason) -> None:
    """Fault codes map to the cloud's documented reasons, others to OTHER."""
    assert fault_reason(code) is reason


@pytest.mark.parametrize(
    ("kind", "data", "failed", "reason"),
    [
        ("BATTERY_POPUP", {"outStatus": "0", "faultType": 0}, False, None),
        ("BATTERY_POPUP", {"outStatus": "1", "faultType": 3}, True, "eject_failed"),
        ("BATTERY_POPUP", {"outStatus": "1"}, True, "other"),
        ("BATTERY_BORROW_OUT", {"faultType": 0}, False, None),
        ("BATTERY_BORROW_OUT", {"faultType": "9"}, True, "command_timed_out"),
        ("BATTERY_ABNORMAL_WARNING", {"faultType": 12}, False, "other"),
        ("BATTERY_ABNORMAL_WARNING", {}, False, "other"),
    ],
)
def test_failure_and_reason(
    kind: str, data: dict[str, Any], failed: bool, reason: str | None
) -> None:
    """Failed ejects and rentals, and abnormal warnings, carry a reason."""
    push = parse_push(_body(kind, **data))

    assert push.failed is failed
    assert push.fault_reason == reason


def test_resend_recognised() -> None:
    """The same push a second time is a resend; a changed one is not."""
    recent = RecentPushes()
    push = parse_push(_body("BATTERY_IN", returnSlot=2))

    assert recent.remember(push) is True
    assert recent.remember(push) is False
    assert recent.remember(replace(push, slot=3)) is True


def test_push_without_timestamp_never_resend() -> None:
    """Pushes without a timestamp are all new."""
    recent = RecentPushes()
    push = replace(parse_push(_body("BATTERY_IN", returnSlot=2)), timestamp=None)

    assert recent.remember(push) is True
    assert recent.remember(push) is True


def test_resend_memory_per_cabinet_bounded() -> None:
    """Beyond per_cabinet pushes the oldest is forgotten."""
    recent = RecentPushes(per_cabinet=2)
    pushes = [parse_push(_body("BATTERY_IN", returnSlot=slot)) for slot in range(1, 4)]
    for push in pushes:
        recent.remember(push)

    assert recent.remember(pushes[2]) is False
    assert recent.remember(pushes[0]) is True


def test_resend_memory_cabinets_bounded() -> None:
    """Beyond max_cabinets the cabinet used longest ago is forgotten."""
    recent = RecentPushes(max_cabinets=1)
    first = parse_push(_body("CABINET_OFFLINE"))
    other = replace(first, cabinet_id="OTHER")
    recent.remember(first)
    recent.remember(other)

    assert recent.remember(other) is False
    assert recent.remember(first) is True


def test_abnormal_warning_marks_battery() -> None:
    """An abnormal warning sets the fault on the slot's battery."""
    push = parse_push(
        _body(
            "BATTERY_ABNORMAL_WARNING",
            slotNum=3,
            abnormalBatteryId="BAT3",
            faultType=12,
            faultCause="Battery voltage abnormal.",
        )
    )
    cabinet = apply_push(_cabinet(TWO_BATTERIES), push)

    assert cabinet.batteries is not None
    marked = cabinet.batteries[1]
    assert (marked.slot, marked.fault_type, marked.fault_cause) == (
        3,
        12,
        "Battery voltage abnormal.",
    )
    assert marked.charge == 40
    assert is_abnormal(marked)
    assert not is_abnormal(cabinet.batteries[0])
    assert cabinet.rentable == 2


def test_failed_eject_marks_empty_slot() -> None:
    """A failed eject of a slot listed as empty adds the reported battery."""
    push = parse_push(
        _body(
            "BATTERY_POPUP", outSlot=2, outBatteryId="BAT2", outStatus="1", faultType=4
        )
    )
    cabinet = apply_push(_cabinet(TWO_BATTERIES), push)

    assert cabinet.batteries is not None
    assert [battery.slot for battery in cabinet.batteries] == [1, 2, 3]
    assert cabinet.batteries[1].battery_id == "BAT2"
    assert cabinet.batteries[1].fault_type == 4


def test_failure_without_fault_keeps_old_fault() -> None:
    """A failure push without code or description keeps the earlier fault."""
    faulty = (replace(TWO_BATTERIES[0], fault_type=12, fault_cause="Too hot."),)
    push = parse_push(_body("BATTERY_POPUP", outSlot=1, outStatus="1"))
    cabinet = apply_push(_cabinet(faulty), push)

    assert cabinet.batteries is not None
    assert cabinet.batteries[0].fault_cause == "Too hot."


def test_successful_eject_empties_slot() -> None:
    """An eject that worked empties the slot and shifts the counters."""
    push = parse_push(_body("BATTERY_POPUP", outSlot=1, outStatus="0"))
    cabinet = apply_push(_cabinet(TWO_BATTERIES), push)

    assert cabinet.batteries == (TWO_BATTERIES[1],)
    assert (cabinet.rentable, cabinet.returnable) == (1, 3)


def test_failed_borrow_keeps_battery() -> None:
    """A borrow with a fault code leaves the battery and the counters."""
    push = parse_push(_body("BATTERY_BORROW_OUT", outSlot=1, faultType=1))
    cabinet = apply_push(_cabinet(TWO_BATTERIES), push)

    assert cabinet.batteries is not None
    assert cabinet.batteries[0].fault_type == 1
    assert cabinet.rentable == 2


def test_event_without_list_keeps_it_unknown() -> None:
    """A battery event cannot make a battery list that was never reported."""
    push = parse_push(_body("BATTERY_IN", returnSlot=2, returnBatteryId="BAT2"))
    cabinet = apply_push(_cabinet(None), push)

    assert cabinet.batteries is None
    assert cabinet.rentable == 3


def test_admin_rental_changes_nothing() -> None:
    """An administrator's rental order alone moves no battery."""
    push = parse_push(_body("ADMIN_RENTAL_ORDER", outSlot=1, orderId="O-1"))

    assert apply_push(_cabinet(TWO_BATTERIES), push) == _cabinet(TWO_BATTERIES)


def test_batteries_above_max_slot_dropped() -> None:
    """A battery in a slot above MAX_SLOT is left out of the parsed list."""
    push = parse_push(
        _body(
            "CABINET_STATUS",
            batteryList=[{"slotNum": MAX_SLOT}, {"slotNum": MAX_SLOT + 1}],
        )
    )

    assert push.batteries == (Battery(slot=MAX_SLOT),)


def test_pushed_battery_fields_bounded() -> None:
    """A pushed battery keeps its slot, without an id, fault or charge out of bounds."""
    push = parse_push(
        _body(
            "CABINET_STATUS",
            batteryList=[
                {
                    "slotNum": 1,
                    "vol": "1e300",
                    "batteryId": "X" * (MAX_ID_LENGTH + 1),
                    "batteryFaultCause": "c" * 60_000,
                    "batteryFaultType": 10**6,
                },
                {"slotNum": 2, "vol": 101, "batteryId": "bad id"},
                {"slotNum": 3, "vol": 100, "batteryId": "B-3"},
            ],
        )
    )

    assert push.batteries == (
        Battery(slot=1, fault_cause="c" * MAX_TEXT_LENGTH),
        Battery(slot=2),
        Battery(slot=3, battery_id="B-3", charge=100),
    )


def test_pushed_slot_count_bounded() -> None:
    """A slot count above MAX_SLOT is not taken as the cabinet's."""
    push = parse_push(_body("CABINET_STATUS", totalCount=MAX_SLOT + 1))

    assert push.total_slots is None


def test_batteries_above_slot_count_dropped() -> None:
    """Applying a list keeps only the slots the cabinet has."""
    push = parse_push(
        _body("CABINET_STATUS", batteryList=[{"slotNum": 4}, {"slotNum": 5}])
    )

    cabinet = apply_push(_cabinet(None), push)

    assert cabinet.batteries == (Battery(slot=4),)


def test_push_event_is_hashable() -> None:
    """Parsed pushes can be kept in sets, as the resend memory needs."""
    push = parse_push(_body("CABINET_STATUS", batteryList=[{"slotNum": 1}]))

    assert isinstance(push, PushEvent)
    assert len({push, push}) == 1


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("2026-12-04 15:04:05", datetime(2026, 12, 4, 15, 4, 5)),
        ("2026-12-04T15:04:05", datetime(2026, 12, 4, 15, 4, 5)),
        ("2026/12/04 15:04:05", datetime(2026, 12, 4, 15, 4, 5)),
        ("2026-12-04 15:04:05.123+08:00", datetime(2026, 12, 4, 15, 4, 5)),
        ("2026-12-4 5:04:05", datetime(2026, 12, 4, 5, 4, 5)),
        ("2026-13-04 15:04:05", None),
        ("2026-12-04 24:00:00", None),
        ("2026-12-04", None),
        ("yesterday", None),
    ],
)
def test_timestamp_formats(sent: str, expected: datetime | None) -> None:
    """Timestamps in the cloud's formats are read, and anything else gives None."""
    body = _body("CABINET_ONLINE")
    body["timestamp"] = sent

    assert parse_push(body).timestamp == expected
