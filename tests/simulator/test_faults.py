"""Test fault rules: their validation, JSON form, use counts and HTTP effects."""

from __future__ import annotations

from collections.abc import AsyncIterator
import time
from typing import Any

import aiohttp
import pytest

from simulator import FaultRule, Simulator
from simulator.faults import InvalidFaultRuleError

USERNAME = "agent"
PASSWORD = "secret"
AUTH = {"Authorization": aiohttp.encode_basic_auth(USERNAME, PASSWORD)}
LISTING_PATH = "/cabinet/getAllDevice"

# The tests run real TCP servers on 127.0.0.1. The Home Assistant test plugin
# still blocks connections to any other host.
pytestmark = pytest.mark.usefixtures("socket_enabled")


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    """Return a running simulator without scenario."""
    simulator = Simulator(cabinets=2, username=USERNAME, password=PASSWORD, seed=7)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """Return an HTTP client session without credentials."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"status": 99}, "status must be an HTTP status code, got 99"),
        ({"status": 600}, "status must be an HTTP status code, got 600"),
        ({"delay": -0.1}, "delay must be 0 or more seconds, got -0.1"),
        (
            {"status": 429, "retry_after": -1.0},
            "retry_after must be 0 or more seconds, got -1.0",
        ),
        ({"status": 500, "times": 0}, "times must be 1 or more, or None, got 0"),
        ({"retry_after": 5.0}, "fault rule has no effect"),
    ],
)
def test_rule_rejects_values(fields: dict[str, Any], message: str) -> None:
    """A rule field that cannot apply raises an error naming the value."""
    with pytest.raises(InvalidFaultRuleError) as error:
        FaultRule(**fields)

    assert message in str(error.value)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("status", "fault rule must be a JSON object"),
        ({"path": "", "status": 500}, "path must be a non-empty string, got ''"),
        ({"path": 5, "status": 500}, "path must be a non-empty string, got 5"),
        ({"status": "500"}, "status must be an integer, got '500'"),
        ({"status": 500, "times": True}, "times must be an integer, got True"),
        ({"delay": "1"}, "delay must be a number of seconds, got '1'"),
        ({"delay": False}, "delay must be a number of seconds, got False"),
        ({"hang": "yes"}, "hang must be true or false, got 'yes'"),
        ({"business_error": "oops"}, "business_error must be"),
        ({"business_error": [2004]}, "business_error must be"),
        ({"business_error": {"code": 0}}, "code must be a non-zero integer: 0"),
        ({"business_error": {"code": True}}, "code must be a non-zero integer: True"),
        ({"business_error": {"msg": "x"}}, "code must be a non-zero integer: None"),
        ({"business_error": [2004, 7]}, "msg must be a string, got 7"),
    ],
)
def test_rule_from_json_rejects_fields(data: object, message: str) -> None:
    """JSON with a wrongly typed field raises an error naming field and value."""
    with pytest.raises(InvalidFaultRuleError) as error:
        FaultRule.from_dict(data)

    assert message in str(error.value)


def test_rule_json_round_trip() -> None:
    """`to_dict` output read by `from_dict` gives an equal rule."""
    rule = FaultRule(
        path="cabinet/operation",
        times=3,
        status=503,
        retry_after=2.5,
        delay=0.1,
        business_error=(2004, "Device not online."),
        malformed=True,
        hang=True,
        drop_after_action=True,
        auth=True,
    )

    data = rule.to_dict()

    assert data["path"] == "/cabinet/operation"
    assert data["business_error"] == {"code": 2004, "msg": "Device not online."}
    assert FaultRule.from_dict(data) == rule


def test_rule_business_error_as_list() -> None:
    """A business error given as [code, msg] is read like the object form."""
    rule = FaultRule.from_dict({"business_error": [3001, "No battery in slot."]})

    assert rule.business_error == (3001, "No battery in slot.")
    assert rule.path == "*"
    assert rule.times is None


def test_rule_business_error_without_message() -> None:
    """A business error object without msg has an empty message."""
    rule = FaultRule.from_dict({"business_error": {"code": 2002}})

    assert rule.business_error == (2002, "")


async def test_added_rule_is_a_copy(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    """Using up a fault leaves the caller's rule object untouched."""
    rule = FaultRule(path=LISTING_PATH, status=500, times=2)
    sim.add_fault(rule)

    async with session.get(f"{sim.base_url}{LISTING_PATH}", headers=AUTH):
        pass

    assert rule.times == 2
    assert [fault.times for fault in sim.faults] == [1]


async def test_first_matching_rule_applies(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    """With two matching rules the older one applies until it is used up."""
    sim.add_fault(FaultRule(path=LISTING_PATH, status=503, times=1))
    sim.add_fault(FaultRule(status=500))

    statuses = []
    for _ in range(2):
        async with session.get(
            f"{sim.base_url}{LISTING_PATH}", headers=AUTH
        ) as response:
            statuses.append(response.status)

    assert statuses == [503, 500]


async def test_retry_after_rounded_up(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    """A fractional Retry-After is sent as whole seconds, rounded up."""
    sim.add_fault(FaultRule(status=429, retry_after=0.2))

    async with session.get(f"{sim.base_url}{LISTING_PATH}", headers=AUTH) as response:
        assert response.status == 429
        assert response.headers["Retry-After"] == "1"


async def test_delay_then_status(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    """A delay and a status in one rule wait first, then send the status."""
    sim.add_fault(FaultRule(delay=0.2, status=502))
    started = time.monotonic()

    async with session.get(f"{sim.base_url}{LISTING_PATH}", headers=AUTH) as response:
        status = response.status

    assert status == 502
    assert time.monotonic() - started >= 0.2


async def test_business_error_needs_valid_credentials(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    """A business error fault still requires the agent's credentials first."""
    sim.add_fault(FaultRule(business_error=(2004, "Device not online.")))

    async with session.get(f"{sim.base_url}{LISTING_PATH}") as response:
        status = response.status

    assert status == 401


async def test_drop_after_rejected_command(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    """A dropped reply also hides a rejection, and the request is still recorded."""
    cabinet_id = sim.cabinet_ids[0]
    empty = next(s for s, b in sim.cabinets[cabinet_id].slots.items() if b is None)
    sim.add_fault(FaultRule(path="/cabinet/ejectByRepair", drop_after_action=True))

    with pytest.raises(aiohttp.ClientConnectionError):
        async with session.post(
            f"{sim.base_url}/cabinet/ejectByRepair",
            params={"cabinetid": cabinet_id, "slotNum": str(empty)},
            headers=AUTH,
        ):
            pass

    assert sim.request_count("/cabinet/ejectByRepair") == 1
    assert sim.requests[-1].status is None
