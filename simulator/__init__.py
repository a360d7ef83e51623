"""Local fake of the ChargeNow cloud: the API paths, pushes, scenario and faults."""

from __future__ import annotations

from .cloud import Simulator
from .events import EventKind, EventNotPossibleError
from .faults import FaultRule
from .middleware import API_PREFIX, RecordedRequest
from .push import PushConfig, PushSubscription, SentPush
from .scenario import ScenarioEvent
from .state import SimBattery, SimCabinet, SimShop

__all__ = [
    "API_PREFIX",
    "EventKind",
    "EventNotPossibleError",
    "FaultRule",
    "PushConfig",
    "PushSubscription",
    "RecordedRequest",
    "ScenarioEvent",
    "SentPush",
    "SimBattery",
    "SimCabinet",
    "SimShop",
    "Simulator",
]
