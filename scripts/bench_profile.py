"""Sample Home Assistant's stacks with py-spy while a benchmark step runs.

py-spy is not a project requirement: pass its path with --py-spy, for
example after `python3 -m venv /tmp/pyspy-venv && /tmp/pyspy-venv/bin/pip
install py-spy`. Only samples of the thread holding the GIL are kept, in
py-spy's raw (collapsed stack) format, and summarised as the functions with
the largest share of them.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
import contextlib
from dataclasses import dataclass
from pathlib import Path
import signal
import subprocess

from bench_instance import BenchError, log

SAMPLE_RATE = 400
"""Samples per second; py-spy's default of 100 gives too few in a short step."""
STOP_TIMEOUT = 30.0

ENCLOSING_FRAME_FILES = (
    "<frozen runpy>",
    "threading.py",
    "concurrent/futures/",
    "asyncio/",
    "aiohttp/web_app.py",
    "aiohttp/web_middlewares.py",
    "aiohttp/web_protocol.py",
    "homeassistant/__main__.py",
    "homeassistant/runner.py",
    "homeassistant/config_entries.py",
    "homeassistant/util/async_.py",
    "homeassistant/helpers/http.py",
    "homeassistant/components/config/",
    "homeassistant/components/http/",
)
"""Files of frames that enclose nearly every sample and explain nothing."""


@dataclass(frozen=True, kw_only=True)
class ProfileSummary:
    """Samples taken, and the functions with the largest share of them."""

    samples: int
    inclusive: list[tuple[str, float]]
    """Functions on the stack: the time spent in them and in what they called."""
    own: list[tuple[str, float]]
    """Functions on top of the stack: the time spent in their own code."""


@contextlib.asynccontextmanager
async def sampling(py_spy: Path, pid: int, output: Path) -> AsyncIterator[None]:
    """Record the stacks of process pid into output while the context runs."""
    process = await asyncio.create_subprocess_exec(
        str(py_spy),
        "record",
        "--pid",
        str(pid),
        "--format",
        "raw",
        "--nolineno",
        # Only the thread holding the GIL does Python work; idle executor
        # threads would otherwise count as busy.
        "--gil",
        "--rate",
        str(SAMPLE_RATE),
        "--output",
        str(output),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        # py-spy needs a moment to attach before the step starts.
        await asyncio.sleep(1.0)
        if process.returncode is not None:
            _, error = await process.communicate()
            raise BenchError(f"py-spy exited: {error.decode(errors='replace')}")
        yield
    finally:
        # py-spy writes its output when it gets SIGINT.
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT)
            except TimeoutError:
                process.kill()
                await process.wait()
    log(f"py-spy samples written to {output}")


def summarize(raw_file: Path, top: int = 20) -> ProfileSummary:
    """Return the functions with the largest share of the samples.

    Each line of py-spy's raw format is a stack, outermost frame first, frames
    separated by semicolons, followed by a space and its sample count. Frames
    of the event loop, the threads and Home Assistant's HTTP middlewares
    enclose most samples and are left out of the inclusive list.
    """
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    total = 0
    for line in raw_file.read_text(encoding="utf-8").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        for frame in set(frames):
            inclusive[frame] += count
        own[frames[-1]] += count

    def share(count: int) -> float:
        return count / total if total else 0.0

    informative = [
        (frame, share(count))
        for frame, count in inclusive.most_common()
        if not _is_enclosing(frame)
    ]
    return ProfileSummary(
        samples=total,
        inclusive=informative[:top],
        own=[(frame, share(count)) for frame, count in own.most_common(top)],
    )


def _is_enclosing(frame: str) -> bool:
    """Return whether a frame belongs to the machinery around every request."""
    _, _, location = frame.rpartition("(")
    return location.startswith(ENCLOSING_FRAME_FILES)
