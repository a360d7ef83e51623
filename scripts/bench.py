"""Benchmark the integration at fleet scale against Home Assistant's own floor.

scripts/bench prepares the environment and runs this file inside it. For
each fleet size it starts the simulator and a new Home Assistant on
127.0.0.1 and adds the bajie_charging entry through its config flow. It
then measures set-up time and memory, cloud requests per poll, state
writes per push, and push throughput and latency next to three reference
webhooks: a no-op one, one that also writes as many states per push as the
integration, and one that makes those writes through real entities.
Only one Home Assistant runs at a time. Both processes stop before the next
fleet size, and when the benchmark ends, fails or gets Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
import fcntl
import json
import os
from pathlib import Path
import platform
import signal
import sys
import time
from typing import Any

import aiohttp
from homeassistant.const import __version__ as ha_version

from bench_instance import (
    BENCH_DIR,
    CONTROL_TIMEOUT,
    BenchError,
    Instance,
    Ports,
    log,
    running_instance,
)
from bench_load import PushFactory, send_pushes
from bench_measure import (
    calibrate_writes,
    measure_poll,
    measure_pushes,
    measure_setup,
    measure_writes,
    prime_cabinets,
)
from bench_profile import sampling, summarize
from bench_report import FleetResult, report
from demo_api import ApiError
from demo_config import DemoError

LOCK_FILE = BENCH_DIR / ".lock"
PUSH_SEED = 2026
"""Seed of the cabinets and kinds the pushes pick, so that runs compare."""


@dataclass(frozen=True, kw_only=True)
class BenchOptions:
    """Command-line options of the benchmark."""

    fleets: tuple[int, ...]
    requests: int
    rounds: int
    warmup: int
    write_samples: int
    clients: int
    run_timeout: float
    setup_timeout: float
    ports: Ports
    py_spy: Path | None
    profile_fleets: tuple[int, ...]
    pid_file: Path | None


def _fleet_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError as err:
        raise argparse.ArgumentTypeError(
            f"expected cabinet counts separated by commas, got {text!r}"
        ) from err
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"fleet sizes must be 1 or more: {text!r}")
    return tuple(sorted(set(sizes)))


def parse_options(argv: list[str] | None = None) -> BenchOptions:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="scripts/bench",
        description=(
            "Start the simulator and Home Assistant on 127.0.0.1 for each fleet "
            "size, measure the bajie_charging integration and print the figures "
            "as Markdown tables. Writes its files under bench/."
        ),
    )
    parser.add_argument(
        "--fleets",
        type=_fleet_sizes,
        default=(10, 100, 1000, 2000),
        metavar="N,N,...",
        help="fleet sizes in cabinets of 8 slots (default: 10,100,1000,2000)",
    )
    parser.add_argument(
        "--requests",
        type=int,
        default=2000,
        metavar="N",
        help="pushes per round and webhook (default: %(default)s)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        metavar="N",
        help="rounds of pushes, each to the no-op webhook, the no-op webhook "
        "with writes, the no-op webhook with entities and the integration "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=200,
        metavar="N",
        help="pushes to each webhook before the measured rounds (default: %(default)s)",
    )
    parser.add_argument(
        "--write-samples",
        type=int,
        default=100,
        metavar="N",
        help="pushes sent one at a time to record their state writes "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--clients",
        type=int,
        default=16,
        metavar="N",
        help="parallel connections sending pushes (default: %(default)s)",
    )
    parser.add_argument(
        "--run-timeout",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="time limit of one round to one webhook (default: %(default)s)",
    )
    parser.add_argument(
        "--setup-timeout",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="time limit of one set-up or reload of the entry (default: %(default)s)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=18123,
        metavar="PORT",
        help="TCP port of Home Assistant on 127.0.0.1 (default: %(default)s)",
    )
    parser.add_argument(
        "--simulator-port",
        type=int,
        default=18780,
        metavar="PORT",
        help="TCP port of the simulator on 127.0.0.1 (default: %(default)s)",
    )
    parser.add_argument(
        "--py-spy",
        type=Path,
        metavar="PATH",
        help="py-spy executable; with it, one more reload and one more round of "
        "pushes run under py-spy at the --profile-fleets sizes",
    )
    parser.add_argument(
        "--profile-fleets",
        type=_fleet_sizes,
        metavar="N,N,...",
        help="fleet sizes to profile with --py-spy (default: the largest)",
    )
    # Set by scripts/bench, which sends its signals to the process id there.
    parser.add_argument("--pid-file", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)

    for name in ("requests", "rounds", "clients"):
        if getattr(arguments, name) < 1:
            parser.error(f"--{name} must be at least 1")
    for name in ("warmup", "write_samples"):
        if getattr(arguments, name) < 0:
            parser.error(f"--{name.replace('_', '-')} must not be negative")
    if arguments.port == arguments.simulator_port:
        parser.error("--port and --simulator-port must differ")
    profile_fleets = arguments.profile_fleets or (max(arguments.fleets),)
    if not set(profile_fleets) <= set(arguments.fleets):
        parser.error("--profile-fleets must be sizes that --fleets lists")

    return BenchOptions(
        fleets=arguments.fleets,
        requests=arguments.requests,
        rounds=arguments.rounds,
        warmup=arguments.warmup,
        write_samples=arguments.write_samples,
        clients=arguments.clients,
        run_timeout=arguments.run_timeout,
        setup_timeout=arguments.setup_timeout,
        ports=Ports(home_assistant=arguments.port, simulator=arguments.simulator_port),
        py_spy=arguments.py_spy,
        profile_fleets=profile_fleets,
        pid_file=arguments.pid_file,
    )


def machine_description() -> dict[str, Any]:
    """Return what the figures were measured on, and when."""
    cpu_model = "unknown"
    for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
    memory_kib = 0
    for line in Path("/proc/meminfo").read_text(encoding="utf-8").splitlines():
        if line.startswith("MemTotal:"):
            memory_kib = int(line.split()[1])
            break
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model,
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "home_assistant": ha_version,
        "python": platform.python_version(),
        "load_average": load_average(),
    }


def load_average() -> str:
    """Return the 1, 5 and 15 minute load averages, which show other work."""
    return " ".join(Path("/proc/loadavg").read_text(encoding="ascii").split()[:3])


def command_line(argv: list[str]) -> str:
    """Return the command as typed, without the wrapper's own option."""
    typed: list[str] = []
    skip = False
    for argument in argv:
        if skip:
            skip = False
        elif argument == "--pid-file":
            skip = True
        elif not argument.startswith("--pid-file="):
            typed.append(argument)
    return " ".join(["scripts/bench", *typed])


async def bench_fleet(
    options: BenchOptions, session: aiohttp.ClientSession, cabinets: int
) -> tuple[FleetResult, dict[str, Any]]:
    """Measure one fleet size; return its figures and any profile summaries."""
    log(f"--- {cabinets:,} cabinets ---")
    factory = PushFactory(cabinets, seed=PUSH_SEED + cabinets)
    async with running_instance(session, cabinets, options.ports) as instance:
        components = await instance.api.components()
        if "recorder" in components:
            log("Note: the recorder is loaded, so state writes also reach SQLite")

        entry_id, setup = await measure_setup(
            instance, time_limit=options.setup_timeout
        )
        push_url = await instance.api.simulator_push_url()
        if not push_url.startswith(instance.home_assistant_url):
            raise BenchError(
                f"The integration registered no local push URL: {push_url}"
            )
        stats = await instance.api.helper_stats()
        webhooks = f"{instance.home_assistant_url}/api/webhook"

        poll = await measure_poll(instance, entry_id)
        writes = await measure_writes(
            instance, factory, push_url=push_url, samples=options.write_samples
        )
        await prime_cabinets(
            instance,
            factory,
            push_url=push_url,
            clients=options.clients,
            time_limit=options.run_timeout,
        )
        writes_per_push = await calibrate_writes(
            instance,
            factory,
            push_url=push_url,
            pushes=options.requests,
            clients=options.clients,
            time_limit=options.run_timeout,
        )
        pushes = await measure_pushes(
            instance,
            factory,
            urls={
                "floor": f"{webhooks}/{stats['webhook_id']}",
                "writing": f"{webhooks}/{stats['writing_webhook_id']}",
                "entities": f"{webhooks}/{stats['entities_webhook_id']}",
                "integration": push_url,
            },
            writes_per_push=writes_per_push,
            requests=options.requests,
            rounds=options.rounds,
            warmup=options.warmup,
            clients=options.clients,
            time_limit=options.run_timeout,
        )

        profiles: dict[str, Any] = {}
        if options.py_spy is not None and cabinets in options.profile_fleets:
            profiles = await profile_fleet(
                options,
                instance,
                factory,
                py_spy=options.py_spy,
                entry_id=entry_id,
                push_url=push_url,
            )

    result = FleetResult(
        cabinets=cabinets,
        setup=setup,
        poll=poll,
        floor=pushes.floor,
        writing=pushes.writing,
        entities=pushes.entities,
        writes_per_push=pushes.writes_per_push,
        push=pushes.integration,
        writes=writes,
    )
    return result, profiles


async def profile_fleet(
    options: BenchOptions,
    instance: Instance,
    factory: PushFactory,
    *,
    py_spy: Path,
    entry_id: str,
    push_url: str,
) -> dict[str, Any]:
    """Sample Home Assistant during one more reload and one more push round."""
    pid = instance.home_assistant_pid
    profiles: dict[str, Any] = {}

    reload_file = BENCH_DIR / f"profile-reload-{instance.cabinets}.txt"
    async with sampling(py_spy, pid, reload_file):
        started = time.monotonic()
        await instance.api.reload_entry(entry_id)
        log(f"Profiled reload took {time.monotonic() - started:.1f} s")
    profiles["reload"] = reload_file

    # Three rounds' worth, so that the profile has enough samples.
    pushes = factory.build(3 * options.requests)
    push_file = BENCH_DIR / f"profile-push-{instance.cabinets}.txt"
    async with sampling(py_spy, pid, push_file):
        await send_pushes(
            push_url, pushes, clients=options.clients, time_limit=options.run_timeout
        )
    profiles["push"] = push_file

    summaries: dict[str, Any] = {}
    for step, raw_file in profiles.items():
        summaries[step] = {"file": str(raw_file), **asdict(summarize(raw_file))}
    return summaries


def profile_lines(profiles: dict[int, dict[str, Any]]) -> list[str]:
    """Return the profile summaries as Markdown lists."""
    lines: list[str] = []
    for cabinets, steps in profiles.items():
        for step, summary in steps.items():
            lines += [
                f"## Profile: {step}, {cabinets:,} cabinets",
                "",
                f"{summary['samples']} samples holding the GIL, raw stacks in "
                f"{summary['file']}.",
                "",
                "| Function (on the stack) | Share | Function (on top) | Share |",
                "|---|---:|---|---:|",
            ]
            for (outer, outer_share), (top, top_share) in zip(
                summary["inclusive"], summary["own"], strict=False
            ):
                lines.append(
                    f"| `{outer}` | {outer_share:.0%} | `{top}` | {top_share:.0%} |"
                )
            lines.append("")
    return lines


def lock_bench_dir() -> None:
    """Take a lock on bench/ for as long as this process lives.

    A second benchmark would otherwise delete the configuration folder of
    the first one.
    """
    BENCH_DIR.mkdir(exist_ok=True)
    descriptor = os.open(LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as err:
        os.close(descriptor)
        raise BenchError(f"Another benchmark is running with {BENCH_DIR}") from err
    # The descriptor stays open on purpose: closing it would drop the lock.


async def run_bench(options: BenchOptions, command: str) -> int:
    """Measure every fleet size and print the report; return the exit status."""
    main_task = asyncio.current_task()
    assert main_task is not None
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(signal_number, main_task.cancel)
    if options.pid_file is not None:
        options.pid_file.write_text(f"{os.getpid()}\n", encoding="utf-8")

    machine = machine_description()
    results: list[FleetResult] = []
    profiles: dict[int, dict[str, Any]] = {}
    started = time.monotonic()
    try:
        lock_bench_dir()
        async with aiohttp.ClientSession(timeout=CONTROL_TIMEOUT) as session:
            for cabinets in options.fleets:
                result, fleet_profiles = await bench_fleet(options, session, cabinets)
                results.append(result)
                if fleet_profiles:
                    profiles[cabinets] = fleet_profiles
    except asyncio.CancelledError:
        main_task.uncancel()
        log("Stopped by a signal; every process it started has been stopped")
        return 130
    except (BenchError, DemoError, ApiError, aiohttp.ClientError) as err:
        log(f"Failed: {err}")
        return 1
    finally:
        if options.pid_file is not None:
            options.pid_file.unlink(missing_ok=True)

    elapsed = time.monotonic() - started
    header = [
        "# bajie_charging benchmark",
        "",
        f"- Command: `{command}`",
        f"- Date: {machine['date']}, took {elapsed / 60:.1f} min",
        f"- Machine: {machine['cpus']} CPUs ({machine['cpu_model']}), "
        f"{machine['memory_gib']} GiB memory",
        f"- Home Assistant {machine['home_assistant']}, Python {machine['python']}",
        f"- Load average (1, 5, 15 min): {machine['load_average']} at the start, "
        f"{load_average()} at the end",
        f"- Pushes: {options.rounds} rounds x {options.requests:,} per webhook, "
        f"{options.clients} parallel clients, {options.warmup} warm-up pushes; "
        f"{options.write_samples} pushes one at a time for the state writes",
        "",
    ]
    lines = header + report(results) + profile_lines(profiles)
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()

    output = BENCH_DIR / f"results-{datetime.now(UTC):%Y%m%d-%H%M%S}.json"
    output.write_text(
        json.dumps(
            {
                "command": command,
                "machine": machine,
                "results": [asdict(result) for result in results],
                "profiles": profiles,
            },
            indent=2,
            default=str,
        )
        + "\n",
        encoding="utf-8",
    )
    log(f"Figures written to {output}")
    return 0


def main() -> int:
    """Parse the options and run the benchmark."""
    options = parse_options()
    return asyncio.run(run_bench(options, command_line(sys.argv[1:])))


if __name__ == "__main__":
    sys.exit(main())
