"""Property test: the webhook survives arbitrary and near-valid push bodies.

One Home Assistant instance receives every generated body through real HTTP.
Hypothesis runs in an executor thread, because `@given` cannot await: each
example draws its request, hands it to the test's event loop with
`asyncio.run_coroutine_threadsafe` and waits for the answer. The event loop
is free meanwhile, because the test itself only awaits that thread. So
Home Assistant, the simulator and the webhook keep running between examples,
and a failing example is still shrunk and reported by Hypothesis. Drawing
inside the example with `st.data()` lets the loop be held during each draw.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
import copy
from dataclasses import dataclass
import json
import logging
import math
import threading
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from hypothesis import HealthCheck, Verbosity, given, settings, strategies as st
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.bajie_charging.const import MAX_PUSH_BODY_BYTES
from simulator import EventKind, EventNotPossibleError, Simulator

from .conftest import USERNAME, WEBHOOK_ID
from .test_webhook import ClientFactory

EXAMPLES = 10_000
REQUEST_TIMEOUT_SECONDS = 30.0
WEBHOOK_PATH = f"/api/webhook/{WEBHOOK_ID}"
WEBHOOK_LOGGER = "custom_components.bajie_charging.webhook"
OK_MESSAGE = "ok"
IGNORED_PREFIX = "ignored"

# Hypothesis draws the first entries of a sampled list most often, so the
# cabinet id, whose change makes most pushes invalid, comes last.
DATA_KEYS = (
    "infoStatus",
    "totalCount",
    "rentableCount",
    "returnableCount",
    "signal",
    "clientIp",
    "batteryList",
    "returnBatteryId",
    "returnSlot",
    "outBatteryId",
    "outSlot",
    "outStatus",
    "slot",
    "slotNum",
    "orderId",
    "faultType",
    "faultCause",
    "abnormalBatteryId",
    "posDeviceId",
    "onlineTime",
    "offlineTime",
    "cabinetId",
)
TOP_KEYS = ("agentAccount", "event", "timestamp", "eventData")
CONTENT_TYPES = (
    "application/json",
    "application/json; charset=utf-8",
    "text/plain",
    "application/x-www-form-urlencoded",
    None,
)

TRICKY_VALUES: tuple[Any, ...] = (
    "",
    " ",
    "nan",
    "NaN",
    "inf",
    "-1",
    "0",
    "1",
    "8",
    "31",
    "99",
    "1e3",
    "1.5",
    " 7 ",
    "null",
    "true",
    "online",
    "OFFLINE",
    None,
    True,
    False,
    0,
    -1,
    2**63,
    10**40,
    1e308,
    -0.0,
    math.nan,
    math.inf,
    [],
    {},
    [{"slotNum": "1", "vol": "nan"}],
    [{"slotNum": 10**12}],
    "x" * 300,
    "../../etc/passwd",
    "BJX 01553",
    "\u0000",
    "\U0001d7d8",
    "cabinet_status",
    "UNKNOWN_KIND",
    "2026-13-45 99:99:99",
    USERNAME.upper(),
    "someone-else",
)

JSON_LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(TRICKY_VALUES)
)
JSON_VALUES = st.recursive(
    JSON_LEAVES,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
MUTATED_VALUES = st.sampled_from(TRICKY_VALUES) | JSON_VALUES


@dataclass(frozen=True, slots=True)
class Request:
    """One generated request: the body, its content type and the decoded JSON."""

    body: bytes
    content_type: str | None
    untouched: bool
    """Whether the body is a push exactly as the simulator builds it."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """Result of one request: the response, the states it changed, any poll."""

    status: int
    message: str
    changed_cabinets: frozenset[str]
    polled: bool
    """Whether a poll finished during the request, so states may have come
    from the poll instead of the push."""


def _mutate(base: dict[str, Any], mutations: list[tuple[str, str, Any]]) -> Any:
    """Apply (target, key, value) edits; a value of `...` deletes the key."""
    body = copy.deepcopy(base)
    for target, key, shared_value in mutations:
        # Each value is copied on its own, because TRICKY_VALUES contains
        # lists and dicts that several edits may insert.
        value = copy.deepcopy(shared_value)
        if target == "body":
            body = value
            continue
        if not isinstance(body, dict):
            continue
        container = body if target == "top" else body.get("eventData")
        if not isinstance(container, dict):
            continue
        if value is ...:
            container.pop(key, None)
        else:
            container[key] = value
    return body


def _encode(value: Any) -> bytes:
    return json.dumps(value).encode()


def _weighted[T](
    *choices: tuple[st.SearchStrategy[T], int],
) -> st.SearchStrategy[T]:
    """Draw from one of the strategies, picked in proportion to its weight."""
    # st.one_of draws each of its distinct strategies about equally often.
    indexes = [
        index for index, (_, weight) in enumerate(choices) for _ in range(weight)
    ]
    return st.sampled_from(indexes).flatmap(lambda index: choices[index][0])


def _requests(bases: list[dict[str, Any]]) -> st.SearchStrategy[Request]:
    """Return the strategy of requests: garbage, arbitrary JSON and near-pushes."""
    data_mutation = st.tuples(
        st.just("data"),
        st.sampled_from(DATA_KEYS) | st.text(max_size=8),
        MUTATED_VALUES | st.just(...),
    )
    top_mutation = st.tuples(
        st.just("top"), st.sampled_from(TOP_KEYS), MUTATED_VALUES | st.just(...)
    )
    body_mutation = st.tuples(st.just("body"), st.just(""), JSON_VALUES)
    # Most edits change one field of eventData, so that many bodies stay
    # valid pushes whose values the coordinator has to cope with.
    mutation = _weighted((data_mutation, 6), (top_mutation, 2), (body_mutation, 1))

    near_pushes = st.builds(
        lambda base, mutations: (_mutate(base, mutations), not mutations),
        st.sampled_from(bases),
        st.lists(mutation, max_size=3),
    )
    encoded_pushes = near_pushes.map(lambda pair: (_encode(pair[0]), pair[1]))

    arbitrary_json = JSON_VALUES.map(lambda value: (_encode(value), False))
    garbage = (
        st.binary(max_size=200)
        | st.text(max_size=200).map(str.encode)
        | st.just(b" " * (MAX_PUSH_BODY_BYTES + 1))
    ).map(lambda body: (body, False))
    bodies = _weighted((encoded_pushes, 6), (arbitrary_json, 2), (garbage, 1))

    return st.builds(
        lambda pair, content_type: Request(pair[0], content_type, pair[1]),
        bodies,
        st.sampled_from(CONTENT_TYPES),
    )


def _decode(body: bytes) -> tuple[bool, Any]:
    """Return whether the body is JSON Python reads, and the decoded value."""
    try:
        return True, json.loads(body)
    except ValueError, RecursionError:
        return False, None


def _pushed_cabinet(body: Any) -> str | None:
    """Return the cabinet id the body names as text, or None."""
    data = body.get("eventData") if isinstance(body, dict) else None
    raw = data.get("cabinetId") if isinstance(data, dict) else None
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        return None
    return str(raw).strip() or None


def _must_be_rejected(body: Any) -> bool:
    """Return whether the body lacks what every push needs."""
    if not isinstance(body, dict):
        return True
    event = body.get("event")
    if not isinstance(event, str) or not event.strip():
        return True
    if not isinstance(body.get("eventData"), dict):
        return True
    return _pushed_cabinet(body) is None


def _is_other_account(body: Any) -> bool:
    """Return whether the body names an agent account that is not ours."""
    account = body.get("agentAccount") if isinstance(body, dict) else None
    if isinstance(account, bool) or not isinstance(account, str | int | float):
        return False
    text = str(account).strip()
    return bool(text) and text.casefold() != USERNAME.casefold()


def _check(request: Request, outcome: Outcome, counts: Counter[str]) -> None:
    """Assert what the webhook must do with one request and count the kind."""
    assert outcome.status < 500
    assert outcome.status in (200, 400, 413)
    is_json, body = _decode(request.body)
    applied = outcome.status == 200 and outcome.message == OK_MESSAGE
    counts[f"status_{outcome.status}"] += 1

    if len(request.body) > MAX_PUSH_BODY_BYTES:
        assert outcome.status == 413
    elif not is_json or _must_be_rejected(body):
        assert outcome.status == 400
    if is_json and _is_other_account(body) and outcome.status == 200:
        assert outcome.message.startswith(IGNORED_PREFIX)
        counts["other_account"] += 1
    if request.untouched:
        assert applied

    if outcome.polled:
        counts["polled"] += 1
        return
    if applied:
        counts["applied"] += 1
        assert outcome.changed_cabinets <= {_pushed_cabinet(body)}
        if outcome.changed_cabinets:
            counts["changed_state"] += 1
    else:
        counts["not_applied"] += 1
        assert outcome.changed_cabinets == frozenset()


@contextmanager
def _loop_paused(loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    """Hold the event loop in a callback while the calling thread runs.

    Hypothesis reports a draw during which the global `random` state changed,
    and Home Assistant uses `random` in the loop thread. Holding the loop
    during each draw keeps the two apart.
    """
    loop_is_held = threading.Event()
    released = threading.Event()

    def hold() -> None:
        loop_is_held.set()
        released.wait(timeout=REQUEST_TIMEOUT_SECONDS)

    loop.call_soon_threadsafe(hold)
    loop_is_held.wait(timeout=REQUEST_TIMEOUT_SECONDS)
    try:
        yield
    finally:
        released.set()


def _valid_pushes(simulator: Simulator) -> list[dict[str, Any]]:
    """Build a valid push of every kind the simulator allows for every cabinet."""
    pushes = []
    for cabinet_id in simulator.cabinet_ids:
        for kind in EventKind:
            try:
                pushes.append(simulator.build_push(cabinet_id, kind))
            except EventNotPossibleError:
                continue
    return pushes


async def test_webhook_survives_generated_bodies(
    hass: HomeAssistant,
    loaded_entry: MockConfigEntry,
    simulator: Simulator,
    hass_client_no_auth: ClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """No body gets a 5xx or a traceback, and only applied pushes change state."""
    # Home Assistant's bootstrap sets this level; its access log line at INFO
    # carries the request path, webhook id included.
    caplog.set_level(logging.WARNING, logger="aiohttp.access")
    loop = asyncio.get_running_loop()
    client = await hass_client_no_auth()
    coordinator = loaded_entry.runtime_data.coordinator
    cabinet_of_entity = {
        entry.entity_id: entry.unique_id.split("_", 1)[0]
        for entry in er.async_entries_for_config_entry(
            er.async_get(hass), loaded_entry.entry_id
        )
    }
    polls = 0

    def count_poll() -> None:
        nonlocal polls
        polls += 1

    remove_listener = coordinator.async_add_listener(count_poll)

    async def send(request: Request) -> Outcome:
        polls_before = polls
        before = {
            entity_id: hass.states.get(entity_id) for entity_id in cabinet_of_entity
        }
        headers = {}
        skip_headers = ["Content-Type"]
        if request.content_type is not None:
            headers["Content-Type"] = request.content_type
            skip_headers = []
        response = await client.post(
            WEBHOOK_PATH,
            data=request.body,
            headers=headers,
            skip_auto_headers=skip_headers,
        )
        answer = await response.text()
        changed = frozenset(
            cabinet_of_entity[entity_id]
            for entity_id, state in before.items()
            if hass.states.get(entity_id) is not state
        )
        try:
            message = str(json.loads(answer).get("msg"))
        except ValueError, AttributeError:
            message = answer
        return Outcome(response.status, message, changed, polls != polls_before)

    counts: Counter[str] = Counter()
    requests = _requests(_valid_pushes(simulator))

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        verbosity=Verbosity.quiet,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )
    @given(data=st.data())
    def property_holds(data: st.DataObject) -> None:
        with _loop_paused(loop):
            request = data.draw(requests, label="request")
        outcome = asyncio.run_coroutine_threadsafe(send(request), loop).result(
            timeout=REQUEST_TIMEOUT_SECONDS
        )
        counts["examples"] += 1
        _check(request, outcome, counts)

    try:
        await hass.async_add_executor_job(property_holds)
    finally:
        remove_listener()

    assert counts["examples"] >= EXAMPLES
    assert counts["status_400"] > EXAMPLES // 4
    assert counts["applied"] > EXAMPLES // 10
    assert counts["changed_state"] > EXAMPLES // 100
    assert counts["status_413"] > 0
    assert counts["other_account"] > 0
    assert counts["polled"] < EXAMPLES // 20
    assert [record for record in caplog.records if record.exc_info] == []
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    leaking = [
        record
        for record in caplog.records
        if record.levelno > logging.DEBUG and WEBHOOK_ID in record.getMessage()
    ]
    assert leaking == []
    webhook_warnings = [
        record
        for record in caplog.records
        if record.name == WEBHOOK_LOGGER and record.levelno == logging.WARNING
    ]
    # One warning per reason: too large, not JSON, invalid, other account.
    assert len(webhook_warnings) <= 4
