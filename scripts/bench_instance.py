"""Start one benchmark instance: the simulator and Home Assistant, on 127.0.0.1.

Each fleet size gets a new Home Assistant configuration folder, bench/config,
with the bajie_charging integration and the bench_noop helper linked in.
The processes are started with the demo's code (scripts/demo.py) and are
stopped when the `running_instance` context ends, by an error or a
cancellation too.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from dataclasses import dataclass
import os
from pathlib import Path
import shutil
import sys
import time
from typing import Any

import aiohttp
from homeassistant.components.onboarding import const as onboarding_const

from demo import (
    OWNER_NAME,
    OWNER_PASSWORD,
    OWNER_USERNAME,
    SIMULATOR_API_PATH,
    ChildProcess,
    check_port_free,
    home_assistant_process,
    wait_until_ready,
    wait_until_running,
)
from demo_api import HomeAssistantApi
from demo_config import DOMAIN, HOST, PROJECT_DIR, TIME_ZONE, prepare_config_dir

BENCH_DIR = PROJECT_DIR / "bench"
CONFIG_DIR = BENCH_DIR / "config"
LOG_DIR = BENCH_DIR / "logs"
SUPPORT_DIR = PROJECT_DIR / "scripts" / "bench_support"
CONFIG_TEMPLATE = SUPPORT_DIR / "configuration.yaml"
HELPER_DOMAIN = "bench_noop"
HELPER_DIR = SUPPORT_DIR / "custom_components" / HELPER_DOMAIN

CLOUD_USERNAME = "bench"
CLOUD_PASSWORD = "bench"  # noqa: S105 - the simulator's own value, on loopback
SLOTS_PER_CABINET = 8
FLEET_SEED = 1
"""Seed of the simulated fleet; the push bodies are built from the same fleet."""

SIMULATOR_START_TIMEOUT = 30.0
HOME_ASSISTANT_START_TIMEOUT = 600.0
POLL_INTERVAL = 0.1
CONTROL_TIMEOUT = aiohttp.ClientTimeout(total=900)
"""Per request of the benchmark's control calls; a fleet's set-up takes long."""


class BenchError(Exception):
    """A benchmark step failed. The message names the step and the log to read."""


@dataclass(frozen=True, kw_only=True)
class Ports:
    """TCP ports on 127.0.0.1 of Home Assistant and of the simulator."""

    home_assistant: int
    simulator: int


@dataclass(frozen=True, kw_only=True)
class Instance:
    """A running simulator and Home Assistant, onboarded, with an access token."""

    cabinets: int
    home_assistant: ChildProcess
    simulator: ChildProcess
    home_assistant_url: str
    simulator_url: str
    """Base URL of the simulator's cloud API."""
    api: BenchApi

    @property
    def home_assistant_pid(self) -> int:
        """Process id of Home Assistant's Python process."""
        assert self.home_assistant.process is not None
        return self.home_assistant.process.pid


class BenchApi:
    """Calls the benchmark makes to Home Assistant and to the simulator."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        home_assistant_url: str,
        simulator_url: str,
        token: str,
    ) -> None:
        """Store the session, both base URLs and the access token."""
        self.session = session
        self.home_assistant = HomeAssistantApi(session, home_assistant_url)
        self._url = home_assistant_url
        self._simulator_url = simulator_url
        self.token = token
        self._headers = {"Authorization": f"Bearer {token}"}

    async def _call(self, method: str, path: str, json_body: Any = None) -> Any:
        """Send one request to Home Assistant; return the decoded JSON reply."""
        async with self.session.request(
            method, self._url + path, headers=self._headers, json=json_body
        ) as response:
            text = await response.text()
            if response.status != 200:
                raise BenchError(
                    f"{method} {path} returned HTTP {response.status}: {text[:300]}"
                )
            return await response.json() if text else None

    async def helper_stats(self, *, reset: bool = False) -> dict[str, Any]:
        """Return the bench_noop counters; with reset, zero its recorded writes."""
        suffix = "?reset=1" if reset else ""
        stats: dict[str, Any] = await self._call(
            "GET", f"/api/{HELPER_DOMAIN}/stats{suffix}"
        )
        return stats

    async def record_writes(self, platform: str | None) -> int:
        """Start recording the platform's state writes, or stop with None."""
        reply = await self._call(
            "POST", f"/api/{HELPER_DOMAIN}/recording", {"platform": platform}
        )
        return int(reply["watched"])

    async def set_writes_per_push(self, writes: float) -> None:
        """Set the mean writes per push of the writing and entities webhooks."""
        await self._call(
            "POST", f"/api/{HELPER_DOMAIN}/writing", {"writes_per_push": writes}
        )

    async def entity_counts(self, entry_id: str) -> dict[str, int]:
        """Return the entry's entities: registered, enabled, with a state."""
        counts: dict[str, int] = await self._call(
            "GET", f"/api/{HELPER_DOMAIN}/entities?config_entry_id={entry_id}"
        )
        return counts

    async def entry_state(self, entry_id: str) -> str:
        """Return the state of a config entry of the integration."""
        entries = await self.home_assistant.config_entries(DOMAIN, self.token)
        for entry in entries:
            if entry["entry_id"] == entry_id:
                return str(entry["state"])
        return "missing"

    async def reload_entry(self, entry_id: str) -> None:
        """Reload a config entry; returns once Home Assistant finished reloading."""
        await self._call("POST", f"/api/config/config_entries/entry/{entry_id}/reload")

    async def call_action(
        self, domain: str, service: str, data: dict[str, Any]
    ) -> None:
        """Call an action and wait until it has finished."""
        await self._call("POST", f"/api/services/{domain}/{service}", data)

    async def components(self) -> list[str]:
        """Return the integrations Home Assistant has loaded."""
        config = await self._call("GET", "/api/config")
        return sorted(config["components"])

    async def simulator_requests(self) -> list[dict[str, Any]]:
        """Return every cloud API request the simulator recorded, oldest first."""
        root = self._simulator_url.removesuffix(SIMULATOR_API_PATH)
        async with self.session.get(f"{root}/_simulator/requests") as response:
            body = await response.json()
        requests: list[dict[str, Any]] = body["requests"]
        return requests

    async def simulator_push_url(self) -> str:
        """Return the push URL the integration registered in the simulator."""
        async with self.session.get(
            f"{self._simulator_url}/cabinet/eventPush/config/get",
            auth=aiohttp.BasicAuth(CLOUD_USERNAME, CLOUD_PASSWORD),
        ) as response:
            body = await response.json()
        return str((body.get("data") or {}).get("pushUrl") or "")


def read_rss_bytes(pid: int) -> int:
    """Return the resident set size of a process, from /proc/PID/status."""
    status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            kibibytes = int(line.split()[1])
            return kibibytes * 1024
    raise BenchError(f"/proc/{pid}/status has no VmRSS line")


def read_thread_cpu(pid: int) -> dict[int, int]:
    """Return the nanoseconds on CPU so far of each thread of a process.

    /proc/PID/stat counts in clock ticks of 10 ms, a step of several percent
    in a round of pushes, while schedstat counts in nanoseconds.
    """
    times: dict[int, int] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            text = (task / "schedstat").read_text(encoding="ascii")
        except FileNotFoundError:
            continue  # The thread ended while the folder was read.
        times[int(task.name)] = int(text.split()[0])
    return times


def cpu_seconds_between(before: dict[int, int], after: dict[int, int]) -> float:
    """Return the CPU time between two `read_thread_cpu` readings, in seconds.

    A thread that ended in between is left out, with the time it used since
    the first reading.
    """
    nanoseconds = sum(used - before.get(tid, 0) for tid, used in after.items())
    return nanoseconds / 1e9


def prepare_bench_config(port: int) -> None:
    """Write a new configuration folder with the integration and the helper."""
    if CONFIG_DIR.exists():
        shutil.rmtree(CONFIG_DIR)
    prepare_config_dir(port, config_dir=CONFIG_DIR, template=CONFIG_TEMPLATE)
    link = CONFIG_DIR / "custom_components" / HELPER_DOMAIN
    # Relative, so the link resolves both on the host and inside the chroot.
    link.symlink_to(os.path.relpath(HELPER_DIR, link.parent), target_is_directory=True)


def simulator_process(cabinets: int, port: int) -> ChildProcess:
    """Return the simulator's process for a fleet, not started yet."""
    return ChildProcess(
        "the simulator",
        [
            sys.executable,
            "-m",
            "simulator",
            "--host",
            HOST,
            "--port",
            str(port),
            "--cabinets",
            str(cabinets),
            "--slots",
            str(SLOTS_PER_CABINET),
            "--seed",
            str(FLEET_SEED),
            "--username",
            CLOUD_USERNAME,
            "--password",
            CLOUD_PASSWORD,
            "--timezone",
            TIME_ZONE,
            # The fleet changes only through the benchmark's pushes, and the
            # simulator logs no line per request.
            "--no-scenario",
            "--log-level",
            "WARNING",
        ],
        LOG_DIR / f"simulator-{cabinets}.log",
    )


async def onboard(api: HomeAssistantApi) -> str:
    """Onboard a new Home Assistant; return a long-lived access token."""
    access_token = await api.create_owner(OWNER_NAME, OWNER_USERNAME, OWNER_PASSWORD)
    for step in (onboarding_const.STEP_ANALYTICS, onboarding_const.STEP_INTEGRATION):
        await api.finish_onboarding_step(step, access_token)
    return await api.create_long_lived_token(access_token)


@contextlib.asynccontextmanager
async def running_instance(
    session: aiohttp.ClientSession, cabinets: int, ports: Ports
) -> AsyncIterator[Instance]:
    """Run the simulator and Home Assistant for one fleet; stop both afterwards."""
    check_port_free(ports.home_assistant, "--port")
    check_port_free(ports.simulator, "--simulator-port")
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    prepare_bench_config(ports.home_assistant)

    home_assistant_url = f"http://{HOST}:{ports.home_assistant}"
    simulator_url = f"http://{HOST}:{ports.simulator}{SIMULATOR_API_PATH}"
    simulator = simulator_process(cabinets, ports.simulator)
    home_assistant = home_assistant_process(
        config_dir=CONFIG_DIR, log_path=LOG_DIR / f"home-assistant-{cabinets}.log"
    )
    # Child processes start in the checkout, and `python -m` puts the working
    # folder on the module path. Home Assistant would then import the package
    # custom_components from the checkout, which has no bench_noop, instead
    # of the configuration folder's. The -P option leaves the working folder
    # out of the module path.
    home_assistant.argv.insert(1, "-P")
    try:
        started = time.monotonic()
        await simulator.start()
        await home_assistant.start()
        await wait_until_ready(
            simulator, session, simulator_url, SIMULATOR_START_TIMEOUT
        )
        await wait_until_ready(
            home_assistant,
            session,
            f"{home_assistant_url}/auth/providers",
            HOME_ASSISTANT_START_TIMEOUT,
        )
        home_assistant_api = HomeAssistantApi(session, home_assistant_url)
        token = await onboard(home_assistant_api)
        await wait_until_running(home_assistant_api, token, home_assistant)
        log(f"Home Assistant and the simulator ready in {since(started):.1f} s")
        yield Instance(
            cabinets=cabinets,
            home_assistant=home_assistant,
            simulator=simulator,
            home_assistant_url=home_assistant_url,
            simulator_url=simulator_url,
            api=BenchApi(session, home_assistant_url, simulator_url, token),
        )
    finally:
        # Shielded, so that a second Ctrl-C cannot leave a process behind.
        await asyncio.shield(asyncio.gather(home_assistant.stop(), simulator.stop()))


def since(started: float) -> float:
    """Return the seconds since a time.monotonic() reading."""
    return time.monotonic() - started


def log(message: str) -> None:
    """Write one progress line to stderr, keeping stdout for the results."""
    sys.stderr.write(f"[bench] {message}\n")
    sys.stderr.flush()
