"""Test the simulator's command line, run in this process on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
import io
import json
import os
import re
import runpy
import signal
import socket
import sys
import threading
import time
from typing import Any
import urllib.request

import pytest

from simulator.cli import _is_loopback, build_parser, main

# The tests run real TCP servers on 127.0.0.1. The Home Assistant test plugin
# still blocks connections to any other host.
pytestmark = pytest.mark.usefixtures("socket_enabled")

SERVING_LINE = re.compile(r"serving (?P<base_url>http://\S+) ")
# Port 9 (discard) has no listener here, so every push fails quickly.
CLOSED_PUSH_URL = "http://127.0.0.1:9/push"
WAIT_SECONDS = 10.0


class ServingLineWatcher(io.StringIO):
    """Standard output replacement that notes when the simulator is serving."""

    def __init__(self) -> None:
        """Start with nothing written."""
        super().__init__()
        self.serving = threading.Event()
        self.base_url = ""

    def write(self, text: str) -> int:
        """Store the text and note the base URL of a serving line."""
        written = super().write(text)
        match = SERVING_LINE.search(self.getvalue())
        if match and not self.serving.is_set():
            self.base_url = match["base_url"]
            self.serving.set()
        return written


@pytest.fixture
def busy_port() -> Iterator[int]:
    """Return a loopback port that another socket listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield listener.getsockname()[1]


def _read_state(base_url: str) -> dict[str, Any]:
    """Return the simulator's state from its control path."""
    control = base_url.replace("/cdb-open-api/v1", "/_simulator")
    with urllib.request.urlopen(f"{control}/state", timeout=5) as response:  # noqa: S310
        state: dict[str, Any] = json.load(response)
    return state


def _inspect_then_interrupt(
    watcher: ServingLineWatcher, states: list[dict[str, Any]]
) -> None:
    """Wait until serving, read the state after two pushes, then send SIGINT.

    Without a serving line no signal is sent, because main() has then
    returned and the signal would stop the test run instead.
    """
    if not watcher.serving.wait(WAIT_SECONDS):
        return
    try:
        deadline = time.monotonic() + WAIT_SECONDS
        state = _read_state(watcher.base_url)
        while state["pushCount"] < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
            state = _read_state(watcher.base_url)
        states.append(state)
    finally:
        os.kill(os.getpid(), signal.SIGINT)


def test_cli_serves_until_sigint(monkeypatch: pytest.MonkeyPatch) -> None:
    """The command serves its fleet, runs the scenario and stops on SIGINT."""
    watcher = ServingLineWatcher()
    monkeypatch.setattr(sys, "stdout", watcher)
    states: list[dict[str, Any]] = []
    driver = threading.Thread(
        target=_inspect_then_interrupt, args=(watcher, states), name="cli driver"
    )
    driver.start()
    try:
        status = main(
            [
                "--port",
                "0",
                "--cabinets",
                "2",
                "--slots",
                "4",
                "--username",
                "operator",
                "--password",
                "pa55",
                "--interval",
                "0.02",
                "--push-url",
                CLOSED_PUSH_URL,
                "--log-level",
                "warning",
            ]
        )
    finally:
        driver.join(WAIT_SECONDS * 3)

    assert status == 0
    assert "username 'operator', password 'pa55'" in watcher.getvalue()
    assert watcher.base_url.startswith("http://127.0.0.1:")
    assert len(states) == 1
    state = states[0]
    assert len(state["cabinets"]) == 2
    assert [len(cabinet["slots"]) for cabinet in state["cabinets"]] == [4, 4]
    assert state["pushConfig"]["pushUrl"] == CLOSED_PUSH_URL
    assert state["pushCount"] >= 2


def test_cli_port_in_use_exits_1(
    busy_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    """A port that is taken ends the command with status 1 and an error."""
    status = main(["--port", str(busy_port), "--no-scenario"])

    assert status == 1
    errors = [record.getMessage() for record in caplog.records]
    assert any(f"Cannot listen on 127.0.0.1 port {busy_port}" in m for m in errors)


def test_module_entry_point_exits_with_status(
    busy_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`python -m simulator` exits with the status that main() returns."""
    monkeypatch.setattr(
        sys, "argv", ["simulator", "--port", str(busy_port), "--no-scenario"]
    )

    with pytest.raises(SystemExit) as exit_info:
        runpy.run_module("simulator", run_name="__main__", alter_sys=True)

    assert exit_info.value.code == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--interval", "0"], "--interval must be above 0 seconds, got 0.0"),
        (["--interval", "-2"], "--interval must be above 0 seconds, got -2.0"),
        (["--timezone", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
        (["--cabinets", "-1"], "cabinets must be 0 or more, got -1"),
        (["--slots", "0"], "slots must be 1 or more, got 0"),
        (["--log-level", "verbose"], "invalid choice: 'VERBOSE'"),
    ],
    ids=[
        "zero-interval",
        "negative-interval",
        "timezone",
        "cabinets",
        "slots",
        "log-level",
    ],
)
def test_cli_rejects_invalid_arguments(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Invalid arguments exit with status 2 and name the invalid value."""
    with pytest.raises(SystemExit) as exit_info:
        main(argv)

    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_cli_log_level_any_case() -> None:
    """The log level is accepted in lower case."""
    args = build_parser().parse_args(["--log-level", "debug"])
    assert args.log_level == "DEBUG"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("localhost", True),
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("0.0.0.0", False),  # noqa: S104
        ("192.0.2.1", False),
        ("cabinets.example", False),
    ],
)
def test_loopback_listen_addresses(host: str, expected: bool) -> None:
    """Only loopback listen addresses count as reachable from this machine only."""
    assert _is_loopback(host) is expected
