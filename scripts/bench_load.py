"""Build push bodies with the simulator and send them to a webhook in parallel."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
import json
import random
import statistics
import sys
import time

import aiohttp

from bench_instance import (
    CLOUD_PASSWORD,
    CLOUD_USERNAME,
    FLEET_SEED,
    SLOTS_PER_CABINET,
)
from demo_config import PROJECT_DIR, TIME_ZONE

# The simulator package lives at the top of the checkout, which is not on the
# module path of a script started from scripts/.
if str(PROJECT_DIR) not in sys.path:
    sys.path.append(str(PROJECT_DIR))

from simulator import EventNotPossibleError, Simulator
from simulator.state import MAX_SIGNAL

STATUS = "CABINET_STATUS"
BORROW_OUT = "BATTERY_BORROW_OUT"


@dataclass(frozen=True, kw_only=True)
class Push:
    """One push body, serialised, with the cabinet and kind it was built for."""

    cabinet_id: str
    kind: str
    body: bytes


class PushFactory:
    """Builds realistic push bodies for random cabinets of the benchmark's fleet.

    The factory keeps its own `Simulator` with the same seed, cabinet count
    and slot count as the simulator process, so its cabinets and batteries
    match what Home Assistant loaded. Half the pushes are CABINET_STATUS,
    half BATTERY_BORROW_OUT, built with `Simulator.build_push`, which leaves
    the fleet unchanged.

    The integration ignores a body equal to one of the last pushes of its
    cabinet as a resend (it keeps 32 per cabinet), so every body is made
    new: a borrow-out gets a new order id, and a status report moves the
    signal by one step, which repeats a value only after 32 status reports
    of the cabinet.
    """

    def __init__(self, cabinets: int, *, seed: int) -> None:
        """Generate the fleet; seed picks the cabinets and kinds."""
        self._simulator = Simulator(
            cabinets=cabinets,
            slots=SLOTS_PER_CABINET,
            username=CLOUD_USERNAME,
            password=CLOUD_PASSWORD,
            seed=FLEET_SEED,
            timezone=TIME_ZONE,
        )
        self._cabinet_ids = self._simulator.cabinet_ids
        # Reproducible load, not security: a seeded PRNG is the point.
        self._random = random.Random(seed)  # noqa: S311
        self._status_count: Counter[str] = Counter()
        self._order_count = 0

    def build(self, count: int) -> list[Push]:
        """Return count new push bodies for random cabinets."""
        return [self._build_one() for _ in range(count)]

    def build_status_reports(self) -> list[Push]:
        """Return one new status report for every cabinet of the fleet."""
        return [self._build_status(cabinet_id) for cabinet_id in self._cabinet_ids]

    def _build_one(self) -> Push:
        cabinet_id = self._random.choice(self._cabinet_ids)
        if self._random.random() < 0.5:
            self._order_count += 1
            try:
                body = self._build_push(
                    cabinet_id, BORROW_OUT, orderId=f"BENCH{self._order_count:010d}"
                )
                return Push(cabinet_id=cabinet_id, kind=BORROW_OUT, body=_encode(body))
            except EventNotPossibleError:
                pass  # The cabinet is empty: it reports its status instead.
        return self._build_status(cabinet_id)

    def _build_status(self, cabinet_id: str) -> Push:
        self._status_count[cabinet_id] += 1
        listed_signal = self._simulator.cabinets[cabinet_id].signal
        signal = (listed_signal + self._status_count[cabinet_id]) % (MAX_SIGNAL + 1)
        body = self._build_push(cabinet_id, STATUS, signal=str(signal))
        return Push(cabinet_id=cabinet_id, kind=STATUS, body=_encode(body))

    def _build_push(
        self, cabinet_id: str, kind: str, **overrides: object
    ) -> dict[str, object]:
        """Call build_push on a fleet narrowed to the one cabinet.

        build_push deep-copies the fleet it is called on, which takes about
        0.1 s at 2,000 cabinets, so the fleet holds only this cabinet while
        the body is built.
        """
        fleet = self._simulator.fleet
        every_cabinet = fleet.cabinets
        fleet.cabinets = {cabinet_id: every_cabinet[cabinet_id]}
        try:
            return self._simulator.build_push(cabinet_id, kind, **overrides)
        finally:
            fleet.cabinets = every_cabinet


def _encode(body: dict[str, object]) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


@dataclass(kw_only=True)
class LoadRun:
    """Figures of one run of parallel pushes to one webhook."""

    requests: int
    """Requests that got an HTTP response."""
    errors: int
    """Requests that failed without a response, or got a status other than 200."""
    seconds: float
    latencies: list[float]
    """Seconds from sending each request to reading its whole response."""
    timed_out: bool

    @property
    def throughput(self) -> float:
        """Responses per second of wall-clock time."""
        return self.requests / self.seconds if self.seconds > 0 else 0.0


async def send_pushes(
    url: str, pushes: Sequence[Push], *, clients: int, time_limit: float
) -> LoadRun:
    """POST every push to url from `clients` parallel connections.

    Stops after the last push, or after `time_limit` seconds with the pushes
    still unsent left out.
    """
    latencies: list[float] = []
    errors = 0
    bodies = iter(pushes)
    headers = {"Content-Type": "application/json"}

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal errors
        for push in bodies:
            started = time.perf_counter()
            try:
                async with session.post(url, data=push.body, headers=headers) as reply:
                    await reply.read()
                    status = reply.status
            except aiohttp.ClientError, TimeoutError:
                errors += 1
                continue
            latencies.append(time.perf_counter() - started)
            if status != 200:
                errors += 1

    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=time_limit)
    ) as session:
        started = time.perf_counter()
        tasks = [asyncio.create_task(client(session)) for _ in range(clients)]
        done, pending = await asyncio.wait(tasks, timeout=time_limit)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        timed_out = bool(pending)
        seconds = time.perf_counter() - started
        for task in done:
            task.result()
    return LoadRun(
        requests=len(latencies),
        errors=errors,
        seconds=seconds,
        latencies=latencies,
        timed_out=timed_out,
    )


def percentile(values: Sequence[float], fraction: float) -> float:
    """Return the value below which the given fraction of values lie."""
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[
        round(fraction * 1000) - 1
    ]
