"""Test the simulator's push configuration endpoint and its push delivery."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import logging
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from simulator import EventKind, PushConfig, Simulator
from simulator.push import describe_destination, loopback_host

USERNAME = "agent"
PASSWORD = "secret"
AUTH = {"Authorization": aiohttp.encode_basic_auth(USERNAME, PASSWORD)}
SET_CONFIG_PATH = "/cabinet/eventPush/config"
GET_CONFIG_PATH = "/cabinet/eventPush/config/get"

# The tests run real TCP servers on 127.0.0.1. The Home Assistant test plugin
# still blocks connections to any other host.
pytestmark = pytest.mark.usefixtures("socket_enabled")


class Receiver:
    """aiohttp server on 127.0.0.1 that counts the pushes it receives."""

    def __init__(self, *, hold: bool = False) -> None:
        """Start without a server. With `hold`, replies wait until `stop`."""
        self.events: list[str] = []
        self.url = ""
        self.arrived = asyncio.Event()
        self._hold = hold
        self._released = asyncio.Event()
        self._runner: web.AppRunner | None = None

    async def start(self, port: int = 0) -> None:
        """Listen on `port` of 127.0.0.1, a free one by default."""
        app = web.Application()
        app.router.add_post("/push", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/push"

    async def stop(self) -> None:
        """Release held replies and stop listening."""
        self._released.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _receive(self, request: web.Request) -> web.Response:
        """Store the event type of one push, holding the reply if asked to."""
        self.events.append((await request.json())["event"])
        self.arrived.set()
        if self._hold:
            await self._released.wait()
        return web.Response()


@pytest.fixture
async def sim() -> AsyncIterator[Simulator]:
    """Return a running simulator without scenario or push URL."""
    simulator = Simulator(cabinets=2, username=USERNAME, password=PASSWORD, seed=7)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    """Return a running push receiver."""
    push_receiver = Receiver()
    await push_receiver.start()
    yield push_receiver
    await push_receiver.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """Return an HTTP client session without credentials."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


async def set_config(
    session: aiohttp.ClientSession, sim: Simulator, **kwargs: Any
) -> tuple[int, Any]:
    """Post a push configuration with credentials, return status and JSON reply."""
    headers = {**AUTH, **kwargs.pop("headers", {})}
    async with session.post(
        f"{sim.base_url}{SET_CONFIG_PATH}", headers=headers, **kwargs
    ) as response:
        return response.status, await response.json()


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (["http://127.0.0.1:1/x"], "push configuration must be a JSON object"),
        ({"eventSubscriptions": []}, "pushUrl must be a string, got None"),
        (
            {"pushUrl": "", "eventSubscriptions": "all"},
            "eventSubscriptions must be a list, got 'all'",
        ),
        (
            {"pushUrl": "", "eventSubscriptions": ["BATTERY_IN"]},
            "subscription must be an object, got 'BATTERY_IN'",
        ),
        (
            {"pushUrl": "", "eventSubscriptions": [{"pushUrl": ""}]},
            "subscription event must be a string: None",
        ),
        (
            {
                "pushUrl": "",
                "eventSubscriptions": [{"event": "BATTERY_IN", "pushUrl": 7}],
            },
            "subscription pushUrl must be a string: 7",
        ),
        (
            {"pushUrl": "", "eventSubscriptions": [{"event": "X", "enable": "yes"}]},
            "subscription enable must be true or false: 'yes'",
        ),
    ],
    ids=[
        "array",
        "no-url",
        "subscriptions-string",
        "subscription-string",
        "no-event",
        "url-number",
        "enable-string",
    ],
)
async def test_invalid_config_rejected(
    sim: Simulator, session: aiohttp.ClientSession, body: object, message: str
) -> None:
    """A wrongly shaped configuration gets HTTP 400 and replaces nothing."""
    sim.set_push_url("http://127.0.0.1:1/before")

    status, reply = await set_config(session, sim, json=body)

    assert status == 400
    assert reply["msg"] == f"Invalid push configuration: {message}"
    assert sim.push_config.push_url == "http://127.0.0.1:1/before"


async def test_config_body_not_json_rejected(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    """A body that is not JSON reads as no configuration and gets HTTP 400."""
    status, reply = await set_config(
        session,
        sim,
        data=b"{pushUrl:",
        headers={"Content-Type": "application/json"},
    )

    assert status == 400
    assert "must be a JSON object" in reply["msg"]
    assert sim.requests[-1].body is None


async def test_config_fields_default(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    """Missing or null subscription fields read as default URL and enabled."""
    body = {
        "pushUrl": "http://127.0.0.1:1/all",
        "eventSubscriptions": [
            {"event": "BATTERY_IN"},
            {"event": "CABINET_STATUS", "pushUrl": None, "enable": None},
        ],
    }

    status, _ = await set_config(session, sim, json=body)

    assert status == 200
    async with session.get(f"{sim.base_url}{GET_CONFIG_PATH}", headers=AUTH) as got:
        stored = (await got.json())["data"]
    assert stored["eventSubscriptions"] == [
        {"event": "BATTERY_IN", "pushUrl": "", "enable": True},
        {"event": "CABINET_STATUS", "pushUrl": "", "enable": True},
    ]
    assert sim.push_config.url_for("BATTERY_IN") == "http://127.0.0.1:1/all"


async def test_null_subscriptions_push_everything(
    sim: Simulator, session: aiohttp.ClientSession
) -> None:
    """`eventSubscriptions: null` is an empty list, which pushes every event."""
    body = {"pushUrl": "http://127.0.0.1:1/all", "eventSubscriptions": None}

    status, _ = await set_config(session, sim, json=body)

    assert status == 200
    assert sim.push_config.subscriptions == []
    assert sim.push_config.url_for("ANY_EVENT") == "http://127.0.0.1:1/all"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://localhost:8123/x", "localhost"),
        ("https://127.0.0.1/x", "127.0.0.1"),
        ("http://[::1]:8123/x", "::1"),
        ("ftp://127.0.0.1/x", None),
        ("http:///x", None),
        ("http://[::1/x", None),
        ("http://10.0.0.1/x", None),
        ("http://cloud.example/x", None),
    ],
)
def test_loopback_host(url: str, expected: str | None) -> None:
    """Only http(s) URLs to a loopback address or localhost count as local."""
    assert loopback_host(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8123/api/webhook/secret", "127.0.0.1:8123"),
        ("http://[::1/x", "an invalid URL"),
    ],
)
def test_destination_leaves_out_path(url: str, expected: str) -> None:
    """Log destinations show host and port only, or state that the URL is invalid."""
    assert describe_destination(url) == expected


async def test_invalid_push_url_skipped(
    sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A push URL that cannot be parsed is skipped with one warning."""
    sim.push_config = PushConfig("http://[::1/push")
    for _ in range(2):
        await sim.push_event(sim.cabinet_ids[0], "CABINET_STATUS")

    assert [push.skipped for push in sim.pushes] == [True, True]
    assert sim.pushes[0].error == "skipped: an invalid URL is not a loopback host"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1


async def test_failing_receiver_warns_once(
    sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    """Repeated failures to one receiver log one warning, then info lines."""
    caplog.set_level(logging.INFO, logger="simulator.push")
    closed = Receiver()
    await closed.start()
    await closed.stop()
    sim.set_push_url(closed.url)

    for _ in range(3):
        await sim.push_event(sim.cabinet_ids[0], "CABINET_STATUS")

    failures = [r for r in caplog.records if "failed" in r.getMessage()]
    assert [r.levelno for r in failures] == [
        logging.WARNING,
        logging.INFO,
        logging.INFO,
    ]
    assert "later failures are logged at info" in failures[0].getMessage()


async def test_recovered_receiver_warns_again(
    sim: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A receiver that recovers and fails again gets a new warning."""
    receiver = Receiver()
    await receiver.start()
    port = int(receiver.url.split(":")[2].split("/")[0])
    await receiver.stop()
    sim.set_push_url(receiver.url)
    cabinet_id = sim.cabinet_ids[0]

    await sim.push_event(cabinet_id, "CABINET_STATUS")
    await receiver.start(port)
    try:
        await sim.push_event(cabinet_id, "CABINET_STATUS")
    finally:
        await receiver.stop()
    await sim.push_event(cabinet_id, "CABINET_STATUS")

    assert [push.status for push in sim.pushes] == [None, 200, None]
    assert receiver.events == ["CABINET_STATUS"]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2


async def test_pushes_delivered_in_order(sim: Simulator, receiver: Receiver) -> None:
    """Pushes queued together arrive in the order they were queued."""
    sim.set_push_url(receiver.url)
    kinds = ["CABINET_OFFLINE", "CABINET_ONLINE", "CABINET_STATUS"]

    await asyncio.gather(
        *(sim.send_push({"event": kind, "eventData": {}}) for kind in kinds)
    )

    assert receiver.events == kinds


async def test_stop_drops_queued_pushes() -> None:
    """Stopping cancels the push in delivery and those queued behind it."""
    simulator = Simulator(cabinets=1)
    await simulator.start()
    held = Receiver(hold=True)
    await held.start()
    try:
        simulator.set_push_url(held.url)
        queued = simulator.queue_pushes(
            [(EventKind.CABINET_STATUS, {"cabinetId": "BJX00001"})] * 3
        )
        async with asyncio.timeout(5):
            await held.arrived.wait()

        await simulator.stop()
    finally:
        await held.stop()

    assert [outcome.cancelled() for _, outcome in queued] == [True, True, True]
    assert simulator.pushes == []
    assert held.events == ["CABINET_STATUS"]


async def test_body_with_non_object_data_delivered(
    sim: Simulator, receiver: Receiver
) -> None:
    """send_push delivers a body whose eventData is not an object, as it is."""
    sim.set_push_url(receiver.url)

    sent = await sim.send_push({"event": "CABINET_STATUS", "eventData": "oops"})

    assert sent is not None
    assert sent.status == 200
    assert receiver.events == ["CABINET_STATUS"]


async def test_stopped_simulator_rejects_pushes() -> None:
    """Queuing a push on a simulator that is not running raises RuntimeError."""
    simulator = Simulator(cabinets=1)

    with pytest.raises(RuntimeError, match="not running"):
        await simulator.send_push({"event": "CABINET_STATUS", "eventData": {}})
    with pytest.raises(RuntimeError, match="not running"):
        simulator.queue_pushes([(EventKind.CABINET_STATUS, {})])
