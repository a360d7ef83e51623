"""Tests of logbook messages for events with fields missing or unset."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.bajie_charging.logbook import describe_cabinet_event


@pytest.mark.parametrize(
    ("event_type", "data", "message"),
    [
        (
            "battery_abnormal_warning",
            {"battery_id": "BAT0000001", "slot": 4},
            "battery BAT0000001 in slot 4 is abnormal",
        ),
        (
            "battery_abnormal_warning",
            {"slot": 4, "fault_reason": "not_a_reason"},
            "a battery in slot 4 is abnormal",
        ),
        (
            "battery_abnormal_warning",
            {"battery_id": "BAT0000001", "fault_cause": "Swollen."},
            'battery BAT0000001 is abnormal: "Swollen."',
        ),
        (
            "battery_popup",
            {"battery_id": "BAT0000001", "slot": 5},
            "reported an eject of battery BAT0000001 from slot 5",
        ),
        (
            "battery_popup",
            {"battery_id": "BAT0000001", "slot": 5, "eject_failed": True},
            "failed to eject battery BAT0000001 from slot 5",
        ),
        (
            "pos_info_status",
            {"pos_device_id": "POS1", "pos_online": True},
            "POS terminal POS1 went online",
        ),
        (
            "pos_info_status",
            {"pos_device_id": "POS1"},
            "POS terminal POS1 reported its status",
        ),
        ("pos_info_status", {"pos_online": False}, "POS terminal went offline"),
        (
            "cabinet_status",
            {"batteries_to_rent": 3},
            "reported its status",
        ),
    ],
    ids=[
        "abnormal-without-fault",
        "abnormal-unknown-reason",
        "abnormal-cause-only",
        "popup-without-result",
        "popup-failed-without-fault",
        "pos-online",
        "pos-without-status",
        "pos-without-terminal",
        "status-without-free-slots",
    ],
)
def test_message_with_missing_fields(
    event_type: str, data: dict[str, Any], message: str
) -> None:
    """Missing or unknown fields are left out of the sentence, never shown raw."""
    assert describe_cabinet_event(event_type, data) == message
