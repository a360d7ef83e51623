"""Parse the command line and serve the simulator until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import signal
import sys

from .cloud import Simulator

_LOGGER = logging.getLogger(__name__)

_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def build_parser() -> argparse.ArgumentParser:
    """Return the parser of the command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m simulator",
        description=(
            "Serve a local fake of the ChargeNow cloud API under /cdb-open-api/v1, "
            "with a fleet of cabinets that changes over time and pushes each "
            "change to the configured push URL. Pushes go to loopback hosts only. "
            "Control paths under /_simulator/ show the state and inject faults."
        ),
    )

    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: %(default)s)",
    )

    parser.add_argument(
        "--port", type=int, default=8780, help="TCP port (default: %(default)s)"
    )

    parser.add_argument(
        "--cabinets",
        type=int,
        default=5,
        help="number of cabinets in the fleet (default: %(default)s)",
    )

    parser.add_argument(
        "--slots",
        type=int,
        default=8,
        help="slots per cabinet (default: %(default)s)",
    )

    parser.add_argument(
        "--username",
        default="demo",
        help="agent username for HTTP Basic auth (default: %(default)s)",
    )

    parser.add_argument(
        "--password",
        default="demo",
        help="agent password for HTTP Basic auth (default: %(default)s)",
    )

    parser.add_argument(
        "--seed",
        type=int,
        default=1,
        help="seed of the fleet and of the scenario's choices (default: %(default)s)",
    )

    parser.add_argument(
        "--interval",
        type=float,
        default=5.0,
        help="seconds between scenario events (default: %(default)s)",
    )

    parser.add_argument(
        "--no-scenario",
        action="store_true",
        help="keep the fleet still: no random rentals, returns or outages",
    )

    parser.add_argument(
        "--timezone",
        default="UTC",
        help="IANA time zone of push timestamps, such as Europe/Berlin "
        "(default: %(default)s)",
    )

    parser.add_argument(
        "--push-url",
        default="",
        help="push every event to this URL from the start, as if configured "
        "through the API; non-loopback hosts are skipped",
    )

    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=_LOG_LEVELS,
        default="INFO",
        help="logging level (default: %(default)s)",
    )

    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the simulator with the given arguments; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

    if args.interval <= 0:
        parser.error(f"--interval must be above 0 seconds, got {args.interval}")
    try:
        sim = Simulator(
            cabinets=args.cabinets,
            slots=args.slots,
            username=args.username,
            password=args.password,
            seed=args.seed,
            scenario_interval=None if args.no_scenario else args.interval,
            timezone=args.timezone,
        )
    except ValueError as err:
        parser.error(str(err))

    if args.push_url:
        sim.set_push_url(args.push_url)
    return asyncio.run(_serve(sim, args.host, args.port))


async def _serve(sim: Simulator, host: str, port: int) -> int:
    """Serve until SIGINT or SIGTERM; return the exit status."""
    stop_requested = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop_requested.set)

    try:
        base_url = await sim.start(host, port)
    except OSError as err:
        _LOGGER.error("Cannot listen on %s port %s: %s", host, port, err)  # noqa: TRY400
        return 1

    if not _is_loopback(host):
        _LOGGER.warning(
            "Listening on %s: other machines can reach the simulator, and its "
            "/_simulator/ control paths take no credentials",
            host,
        )
    # The credentials are the simulator's own demo values, printed so that the
    # operator can paste them into the integration's set-up form.
    sys.stdout.write(
        f"ChargeNow simulator serving {base_url} "
        f"(username {sim.username!r}, password {sim.password!r})\n"
    )
    sys.stdout.flush()

    await stop_requested.wait()
    _LOGGER.info("Stopping the simulator")
    await sim.stop()
    return 0


def _is_loopback(host: str) -> bool:
    """Return whether a listen address accepts connections from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
