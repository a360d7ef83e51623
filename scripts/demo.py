"""Run the demo: the ChargeNow simulator, Home Assistant and the integration.

scripts/develop prepares the environment and runs this file inside it. Both
servers listen on 127.0.0.1 only, and the Home Assistant configuration folder
is demo/config in the checkout, kept across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from dataclasses import dataclass
import fcntl
from importlib import metadata
import logging
import os
from pathlib import Path
import shutil
import signal
import socket
import subprocess
import sys
import time

import aiohttp
from homeassistant.components.onboarding import const as onboarding_const
from homeassistant.const import __version__ as ha_version

from demo_api import ApiError, HomeAssistantApi, SimulatorApi
from demo_config import (
    CONFIG_DIR,
    DEMO_DIR,
    DOMAIN,
    HOST,
    PROJECT_DIR,
    TIME_ZONE,
    DemoError,
    SavedEntry,
    prepare_config_dir,
    read_saved_entry,
)

_LOGGER = logging.getLogger(__name__)

LOG_DIR = DEMO_DIR / "logs"
HOME_ASSISTANT_LOG = LOG_DIR / "home-assistant.log"
SIMULATOR_LOG = LOG_DIR / "simulator.log"
TOKEN_FILE = DEMO_DIR / "token"
LOCK_FILE = DEMO_DIR / ".lock"

SIMULATOR_API_PATH = "/cdb-open-api/v1"

# Demo credentials, printed to the user on purpose.
OWNER_NAME = "Demo"
OWNER_USERNAME = "demo"
OWNER_PASSWORD = "demo"  # noqa: S105
CLOUD_USERNAME = "demo"
CLOUD_PASSWORD = "demo"  # noqa: S105

SIMULATOR_START_TIMEOUT = 30.0
# Generous, because a start that has to install missing packages first (when
# requirements_demo.txt lags behind Home Assistant) can take minutes.
HOME_ASSISTANT_START_TIMEOUT = 600.0
ENTRY_LOAD_TIMEOUT = 60.0
STOP_TIMEOUT = 60.0
POLL_INTERVAL = 0.5
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=30)

# Exit code with which Home Assistant requests a restart from its supervisor.
RESTART_EXIT_CODE = 100

# Home Assistant 2026.10.4 pins these for assist_pipeline (pymicro-vad 1.0.1,
# pyspeex-noise 1.0.2), and PyPI has no wheels of those versions for Python
# 3.14, so installing them needs a C++ compiler and the Python headers.
VOICE_PACKAGES = ("pymicro-vad", "pyspeex-noise")


@dataclass(frozen=True, kw_only=True)
class DemoOptions:
    """Command-line options of the demo."""

    port: int
    cabinets: int
    simulator_port: int
    pid_file: Path | None

    @property
    def home_assistant_url(self) -> str:
        """Return the base URL of Home Assistant."""
        return f"http://{HOST}:{self.port}"

    @property
    def simulator_base_url(self) -> str:
        """Return the base URL of the simulator's cloud API."""
        return f"http://{HOST}:{self.simulator_port}{SIMULATOR_API_PATH}"


def parse_options(argv: list[str] | None = None) -> DemoOptions:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="scripts/develop",
        description=(
            "Start the ChargeNow simulator and Home Assistant with the "
            "bajie_charging integration set up against it. Stop with Ctrl-C."
        ),
    )
    parser.add_argument(
        "--port",
        type=int,
        default=8123,
        metavar="PORT",
        help="TCP port of Home Assistant on 127.0.0.1 (default: %(default)s)",
    )
    parser.add_argument(
        "--cabinets",
        type=int,
        default=5,
        metavar="N",
        help="number of simulated cabinets (default: %(default)s)",
    )
    parser.add_argument(
        "--simulator-port",
        type=int,
        default=8780,
        metavar="PORT",
        help="TCP port of the simulator on 127.0.0.1 (default: %(default)s)",
    )
    # Set by scripts/develop, which sends its signals to the process id there.
    parser.add_argument("--pid-file", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)

    for name in ("port", "simulator_port"):
        value = getattr(arguments, name)
        if not 1 <= value <= 65535:
            parser.error(f"--{name.replace('_', '-')} must be 1-65535, got {value}")
    if arguments.port == arguments.simulator_port:
        parser.error("--port and --simulator-port must differ")
    if arguments.cabinets < 1:
        parser.error(f"--cabinets must be at least 1, got {arguments.cabinets}")

    return DemoOptions(
        port=arguments.port,
        cabinets=arguments.cabinets,
        simulator_port=arguments.simulator_port,
        pid_file=arguments.pid_file,
    )


# --- Child processes ----------------------------------------------------------


class ChildProcess:
    """A server the demo runs, with its output in a log file."""

    def __init__(self, name: str, argv: list[str], log_path: Path) -> None:
        """Store what to run; start() runs it."""
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.process: asyncio.subprocess.Process | None = None

    @property
    def exit_code(self) -> int | None:
        """Return the exit code, or None while the process runs."""
        return None if self.process is None else self.process.returncode

    async def start(self, *, append_log: bool = False) -> None:
        """Start the process in its own session, so Ctrl-C reaches only the demo."""
        argv = self.argv
        # setpriv (util-linux) makes the kernel send SIGTERM to the child when
        # the demo dies without cleaning up, for example from SIGKILL.
        if setpriv := shutil.which("setpriv"):
            argv = [setpriv, "--pdeathsig", "TERM", "--", *argv]
        environment = {**os.environ, "TZ": TIME_ZONE}
        with self.log_path.open("ab" if append_log else "wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=PROJECT_DIR,
                env=environment,
                start_new_session=True,
            )
        _LOGGER.debug("Started %s as process %s", self.name, self.process.pid)

    async def wait(self) -> int:
        """Wait for the process to end; return its exit code."""
        assert self.process is not None
        return await self.process.wait()

    async def stop(self) -> None:
        """Send SIGTERM, and SIGKILL when the process has not ended in time."""
        if self.process is None or self.process.returncode is not None:
            return
        _LOGGER.info("Stopping %s", self.name)
        self.process.terminate()
        try:
            await asyncio.wait_for(self.process.wait(), STOP_TIMEOUT)
        except TimeoutError:
            _LOGGER.warning(
                "%s did not stop within %.0f s; killing it", self.name, STOP_TIMEOUT
            )
            self.process.kill()
            await self.process.wait()


def simulator_process(options: DemoOptions) -> ChildProcess:
    """Return the simulator's process, not started yet."""
    return ChildProcess(
        "the simulator",
        [
            sys.executable,
            "-m",
            "simulator",
            "--host",
            HOST,
            "--port",
            str(options.simulator_port),
            "--cabinets",
            str(options.cabinets),
            "--username",
            CLOUD_USERNAME,
            "--password",
            CLOUD_PASSWORD,
            "--timezone",
            TIME_ZONE,
        ],
        SIMULATOR_LOG,
    )


def home_assistant_process(
    *, config_dir: Path = CONFIG_DIR, log_path: Path = HOME_ASSISTANT_LOG
) -> ChildProcess:
    """Return Home Assistant's process, not started yet."""
    argv = [
        sys.executable,
        "-m",
        "homeassistant",
        "--config",
        str(config_dir),
        "--log-no-color",
    ]
    missing = [name for name in VOICE_PACKAGES if not is_installed(name)]
    if missing:
        # Without a compiler Home Assistant's own installer fails on them too,
        # and every start would spend seconds on failing builds.
        argv += ["--skip-pip-packages", ",".join(missing)]
        _LOGGER.warning(
            "%s not installed, so Home Assistant's voice pipeline cannot load. "
            "The web UI then stays at 'Loading...', because listing the actions "
            "imports that pipeline, while the REST and websocket APIs work. "
            "Installing them needs g++ and python3.14-dev in the environment",
            " and ".join(missing),
        )
    # The console output contains what Home Assistant also writes to
    # demo/config/home-assistant.log, plus anything printed before its logging
    # is set up, such as an import error.
    return ChildProcess("Home Assistant", argv, log_path)


def lock_demo_dir() -> None:
    """Take a lock on the demo folder for as long as this process lives.

    Two demos on different ports would otherwise share one configuration
    folder. The kernel drops the lock when the process ends, even by SIGKILL.
    """
    DEMO_DIR.mkdir(exist_ok=True)
    descriptor = os.open(LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as err:
        os.close(descriptor)
        raise DemoError(
            f"Another demo is running with {DEMO_DIR}. Stop it first"
        ) from err
    # The descriptor stays open on purpose: closing it would drop the lock.


def is_installed(distribution: str) -> bool:
    """Return whether a Python distribution is installed in the environment."""
    try:
        metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return False
    return True


def check_port_free(port: int, option: str) -> None:
    """Raise DemoError when another program listens on HOST:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError as err:
            raise DemoError(
                f"Port {port} on {HOST} is in use ({err.strerror}). Stop the "
                f"program using it, such as another demo, or pass another {option}"
            ) from err


async def wait_until_ready(
    child: ChildProcess, session: aiohttp.ClientSession, url: str, seconds: float
) -> None:
    """Poll url until the server responds with any HTTP status, for some seconds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if child.exit_code is not None:
            raise DemoError(
                f"{child.name} exited with code {child.exit_code} while starting. "
                f"See {child.log_path}"
            )
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with session.get(url, timeout=aiohttp.ClientTimeout(total=5)):
                return
        await asyncio.sleep(POLL_INTERVAL)
    raise DemoError(
        f"{child.name} did not respond at {url} within {seconds:.0f} s. "
        f"See {child.log_path}"
    )


# --- Setting up Home Assistant and the integration -----------------------------


async def set_up_owner_and_token(api: HomeAssistantApi) -> str:
    """Finish the open onboarding steps; return a valid long-lived access token."""
    steps = await api.onboarding_steps()
    access_token: str | None = None
    if steps is not None and not steps.get(onboarding_const.STEP_USER, False):
        _LOGGER.info("Creating the owner account %r", OWNER_USERNAME)
        access_token = await api.create_owner(
            OWNER_NAME, OWNER_USERNAME, OWNER_PASSWORD
        )

    open_steps = [
        step
        for step in (onboarding_const.STEP_ANALYTICS, onboarding_const.STEP_INTEGRATION)
        if steps is not None and not steps.get(step, False)
    ]
    if open_steps:
        if access_token is None:
            access_token = await api.log_in(OWNER_USERNAME, OWNER_PASSWORD)
        for step in open_steps:
            await api.finish_onboarding_step(step, access_token)
        _LOGGER.info("Finished onboarding")

    return await ensure_long_lived_token(api, access_token)


async def ensure_long_lived_token(
    api: HomeAssistantApi, access_token: str | None
) -> str:
    """Return the token of TOKEN_FILE, or a new one when it is missing or rejected."""
    if TOKEN_FILE.is_file():
        token = TOKEN_FILE.read_text(encoding="utf-8").strip()
        if token and await api.is_token_valid(token):
            return token
        _LOGGER.info("Home Assistant rejected the token in %s", TOKEN_FILE)
    if access_token is None:
        access_token = await api.log_in(OWNER_USERNAME, OWNER_PASSWORD)
    token = await api.create_long_lived_token(access_token)
    descriptor = os.open(TOKEN_FILE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as token_file:
        token_file.write(token + "\n")
    _LOGGER.info("Wrote a new long-lived access token to %s", TOKEN_FILE)
    return token


async def wait_until_running(
    api: HomeAssistantApi, token: str, home_assistant: ChildProcess
) -> None:
    """Wait until Home Assistant has finished starting its integrations."""
    deadline = time.monotonic() + HOME_ASSISTANT_START_TIMEOUT
    while (state := await api.core_state(token)) != "RUNNING":
        if home_assistant.exit_code is not None or time.monotonic() > deadline:
            raise DemoError(
                f"Home Assistant did not finish starting (state {state}). "
                f"See {home_assistant.log_path}"
            )
        await asyncio.sleep(POLL_INTERVAL)


async def set_up_integration(
    api: HomeAssistantApi,
    token: str,
    simulator_api: SimulatorApi,
    options: DemoOptions,
    saved_entry: SavedEntry | None,
) -> None:
    """Add the integration's config entry, or reconnect the one of a previous run."""
    if not await api.config_entries(DOMAIN, token):
        _LOGGER.info("Adding the %s integration through its config flow", DOMAIN)
        await api.add_config_entry(
            DOMAIN,
            {
                "username": CLOUD_USERNAME,
                "password": CLOUD_PASSWORD,
                "base_url": options.simulator_base_url,
                "register_push": True,
            },
            token,
        )
    elif saved_entry is not None:
        await reconnect_saved_entry(simulator_api, options, saved_entry)
    await wait_until_entry_loaded(api, token)

    if not await simulator_api.has_push_url():
        _LOGGER.warning(
            "The simulator has no push URL, so Home Assistant sees changes only "
            "when the integration polls"
        )


async def reconnect_saved_entry(
    simulator_api: SimulatorApi, options: DemoOptions, saved_entry: SavedEntry
) -> None:
    """Give the new simulator the push URL the entry registered in an earlier run.

    The simulator keeps its push configuration in memory only, while the real
    cloud would still have it, and the integration registers it only in its
    config flow. The URL is built for the current --port.
    """
    if saved_entry.base_url != options.simulator_base_url:
        _LOGGER.warning(
            "The integration was set up against %s, but the simulator now serves "
            "%s. Start with the earlier --simulator-port, or delete %s to start "
            "from a new configuration",
            saved_entry.base_url,
            options.simulator_base_url,
            DEMO_DIR,
        )
        return
    if not saved_entry.registered_push or not saved_entry.webhook_id:
        return
    await simulator_api.set_push_url(
        f"{options.home_assistant_url}/api/webhook/{saved_entry.webhook_id}"
    )
    _LOGGER.info("Registered the integration's webhook in the simulator again")


async def wait_until_entry_loaded(api: HomeAssistantApi, token: str) -> None:
    """Wait until the integration's config entry is loaded."""
    deadline = time.monotonic() + ENTRY_LOAD_TIMEOUT
    while True:
        entries = await api.config_entries(DOMAIN, token)
        state = entries[0]["state"] if entries else "missing"
        if state == "loaded":
            return
        if state in ("setup_error", "migration_error") or time.monotonic() > deadline:
            reason = entries[0].get("reason") if entries else None
            raise DemoError(
                f"The {DOMAIN} config entry is {state} ({reason}). "
                f"See {HOME_ASSISTANT_LOG}"
            )
        await asyncio.sleep(POLL_INTERVAL)


# --- Running and stopping -----------------------------------------------------


async def start_demo(
    options: DemoOptions,
    session: aiohttp.ClientSession,
    simulator: ChildProcess,
    home_assistant: ChildProcess,
) -> None:
    """Start both servers, set up Home Assistant and print how to use them."""
    started = time.monotonic()
    check_port_free(options.port, "--port")
    check_port_free(options.simulator_port, "--simulator-port")
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    prepare_config_dir(options.port)
    saved_entry = read_saved_entry()

    _LOGGER.info("Starting the simulator with %d cabinets", options.cabinets)
    await simulator.start()
    _LOGGER.info("Starting Home Assistant %s", ha_version)
    await home_assistant.start()
    await wait_until_ready(
        simulator, session, options.simulator_base_url, SIMULATOR_START_TIMEOUT
    )
    await wait_until_ready(
        home_assistant,
        session,
        # Open without authentication, so polling it logs no failed login.
        f"{options.home_assistant_url}/auth/providers",
        HOME_ASSISTANT_START_TIMEOUT,
    )

    api = HomeAssistantApi(session, options.home_assistant_url)
    simulator_api = SimulatorApi(
        session, options.simulator_base_url, CLOUD_USERNAME, CLOUD_PASSWORD
    )
    try:
        token = await set_up_owner_and_token(api)
        await wait_until_running(api, token, home_assistant)
        await set_up_integration(api, token, simulator_api, options, saved_entry)
    except (ApiError, aiohttp.ClientError) as err:
        raise DemoError(f"Setting up Home Assistant failed: {err}") from err

    print_summary(options, time.monotonic() - started)


def print_summary(options: DemoOptions, elapsed: float) -> None:
    """Print the URLs, the login and a first API call to try."""
    url = options.home_assistant_url
    lines = [
        "",
        f"The Bajie Charging demo is running (started in {elapsed:.1f} s).",
        f"  Home Assistant:  {url}",
        f"  Login:           user {OWNER_USERNAME}, password {OWNER_PASSWORD}",
        f"  Access token:    {TOKEN_FILE}",
        f"  Simulator:       {options.simulator_base_url}",
        f"                   {options.cabinets} cabinets, user {CLOUD_USERNAME}, "
        f"password {CLOUD_PASSWORD}",
        f"  Logs:            {LOG_DIR}/",
        "",
        "Try:",
        f'  curl -H "Authorization: Bearer $(cat {TOKEN_FILE})" {url}/api/states',
        "",
        "Press Ctrl-C to stop.",
        "",
    ]
    sys.stdout.write("\n".join(lines))
    sys.stdout.flush()


async def supervise(
    simulator: ChildProcess, home_assistant: ChildProcess, stop: asyncio.Event
) -> int:
    """Keep the demo running until a stop is requested; return the exit status.

    Home Assistant exits with RESTART_EXIT_CODE when a user restarts it from
    the UI, and is then started again.
    """
    while True:
        watchers = {
            asyncio.create_task(stop.wait()): "stop",
            asyncio.create_task(simulator.wait()): "simulator",
            asyncio.create_task(home_assistant.wait()): "home_assistant",
        }
        done, pending = await asyncio.wait(
            watchers, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()
        finished = {watchers[task] for task in done}
        if "stop" in finished:
            return 0
        if "simulator" in finished:
            _LOGGER.error(
                "The simulator exited with code %s; see %s",
                simulator.exit_code,
                simulator.log_path,
            )
            return 1
        if home_assistant.exit_code != RESTART_EXIT_CODE:
            _LOGGER.error(
                "Home Assistant exited with code %s; see %s",
                home_assistant.exit_code,
                HOME_ASSISTANT_LOG,
            )
            return 1
        _LOGGER.info("Home Assistant asked for a restart; starting it again")
        await home_assistant.start(append_log=True)


async def run_demo(options: DemoOptions) -> int:
    """Run the demo until Ctrl-C or SIGTERM; return the exit status."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(signal_number, stop.set)
    if options.pid_file is not None:
        options.pid_file.write_text(f"{os.getpid()}\n", encoding="utf-8")

    simulator = simulator_process(options)
    home_assistant = home_assistant_process()
    try:
        lock_demo_dir()
        async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as session:
            start = asyncio.create_task(
                start_demo(options, session, simulator, home_assistant)
            )
            stop_wait = asyncio.create_task(stop.wait())
            await asyncio.wait({start, stop_wait}, return_when=asyncio.FIRST_COMPLETED)
            stop_wait.cancel()
            if not start.done():
                _LOGGER.info("Stop requested while starting")
                start.cancel()
                await asyncio.gather(start, return_exceptions=True)
                return 0
            start.result()
            return await supervise(simulator, home_assistant, stop)
    except DemoError as err:
        _LOGGER.error("%s", err)  # noqa: TRY400
        return 1
    finally:
        await asyncio.gather(home_assistant.stop(), simulator.stop())
        if options.pid_file is not None:
            options.pid_file.unlink(missing_ok=True)
        if simulator.process is not None:
            _LOGGER.info("Demo stopped")


def main() -> int:
    """Parse the options and run the demo."""
    options = parse_options()
    logging.basicConfig(level=logging.INFO, format="[demo] %(message)s")
    return asyncio.run(run_demo(options))


if __name__ == "__main__":
    sys.exit(main())
