"""Print the benchmark's figures as Markdown tables and check them against targets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import math

from bench_measure import PollFigures, PushFigures, SetupFigures, WriteFigures

MEBIBYTE = 1024 * 1024
KIBIBYTE = 1024

MAX_PUSH_RATIO = 1.5
"""Push handling may cost at most this much more than the no-op webhook."""
MAX_PUSH_GROWTH = 1.2
"""CPU per push of the largest fleet over that of the smallest fleet.

Above 1 only by the run-to-run noise measured on a 2-core machine, which
other processes share: the work per push must not grow with the fleet.
"""
MAX_SETUP_SECONDS = 10.0
SETUP_TARGET_CABINETS = 2000


@dataclass(kw_only=True)
class FleetResult:
    """Every figure measured at one fleet size."""

    cabinets: int
    setup: SetupFigures
    poll: PollFigures
    floor: PushFigures
    writing: PushFigures
    """The no-op webhook plus the integration's mean state writes and one event."""
    entities: PushFigures
    """The no-op webhook plus the same writes through entities and one event."""
    writes_per_push: float
    """State writes per push that the writing and entities webhooks made."""
    push: PushFigures
    writes: WriteFigures


def _ratio(value: float, reference: float) -> float:
    return value / reference if reference > 0 else math.nan


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---:" for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def push_table(results: Sequence[FleetResult]) -> list[str]:
    """Return the table of push throughput, latency and CPU per push."""
    rows = []
    for result in results:
        floor, push = result.floor, result.push
        rows.append(
            [
                f"{result.cabinets:,}",
                f"{floor.throughput:,.0f}",
                f"{floor.latency_p50 * 1e3:.2f} / {floor.latency_p99 * 1e3:.2f}",
                f"{floor.cpu_per_push * 1e6:.0f}",
                f"{push.throughput:,.0f}",
                f"{push.latency_p50 * 1e3:.2f} / {push.latency_p99 * 1e3:.2f}",
                f"{push.cpu_per_push * 1e6:.0f}",
                f"{push.gc_per_push * 1e6:.0f}",
                f"{_ratio(push.cpu_per_push, floor.cpu_per_push):.2f}",
                f"{_ratio(push.latency_p50, floor.latency_p50):.2f}",
                f"{push.processed:,} / {push.requests:,}",
            ]
        )
    return _table(
        [
            "Cabinets",
            "No-op pushes/s",
            "No-op p50 / p99 ms",
            "No-op CPU µs/push",
            "bajie pushes/s",
            "bajie p50 / p99 ms",
            "bajie CPU µs/push",
            "of which GC µs",
            "CPU ratio",
            "p50 ratio",
            "bajie processed / sent",
        ],
        rows,
    )


def share_table(results: Sequence[FleetResult]) -> list[str]:
    """Return the CPU per push of the four webhooks side by side."""
    rows = []
    for result in results:
        floor, writing, push = result.floor, result.writing, result.push
        entities = result.entities
        rows.append(
            [
                f"{result.cabinets:,}",
                f"{result.writes_per_push:.2f}",
                f"{floor.cpu_per_push * 1e6:.0f}",
                f"{writing.cpu_per_push * 1e6:.0f}",
                f"{entities.cpu_per_push * 1e6:.0f}",
                f"{push.cpu_per_push * 1e6:.0f}",
                f"{_ratio(writing.cpu_per_push, floor.cpu_per_push):.2f}",
                f"{_ratio(entities.cpu_per_push, floor.cpu_per_push):.2f}",
                f"{_ratio(push.cpu_per_push, writing.cpu_per_push):.2f}",
                f"{_ratio(push.cpu_per_push, entities.cpu_per_push):.2f}",
                f"{(push.cpu_per_push - writing.cpu_per_push) * 1e6:.0f}",
            ]
        )
    return _table(
        [
            "Cabinets",
            "bajie writes per push",
            "No-op CPU µs/push",
            "No-op + writes CPU µs/push",
            "No-op + entities CPU µs/push",
            "bajie CPU µs/push",
            "No-op + writes / no-op",
            "No-op + entities / no-op",
            "bajie / no-op + writes",
            "bajie / no-op + entities",
            "bajie minus no-op + writes µs",
        ],
        rows,
    )


def writes_table(results: Sequence[FleetResult]) -> list[str]:
    """Return the table of state writes per push and requests per poll."""
    rows = []
    for result in results:
        writes, poll = result.writes, result.poll
        pushes = max(writes.pushes, 1)
        rows.append(
            [
                f"{result.cabinets:,}",
                f"{result.setup.entities_enabled:,} / "
                f"{result.setup.entities_registered:,}",
                f"{result.setup.entities_enabled / result.cabinets:.1f}",
                f"{writes.writes / pushes:.1f}",
                f"{writes.changes / pushes:.1f}",
                f"{writes.max_writes} / {writes.max_changes}",
                f"{writes.writes_of_other_cabinets}",
                f"{poll.requests}",
                f"{poll.listing_pages} x {poll.page_size}",
                f"{poll.seconds:.2f}",
                f"{poll.writes} / {poll.changes}",
            ]
        )
    return _table(
        [
            "Cabinets",
            "Entities enabled / registered",
            "Enabled per cabinet",
            "Writes per push",
            "Changed per push",
            "Max writes / changed",
            "Writes of other cabinets",
            "Requests per poll",
            "Listing pages x size",
            "Poll s",
            "Poll writes / changed",
        ],
        rows,
    )


def kinds_table(results: Sequence[FleetResult]) -> list[str]:
    """Return the mean writes and changes per push, by push kind."""
    rows = []
    for result in results:
        for kind, figures in result.writes.by_kind.items():
            rows.append(
                [
                    f"{result.cabinets:,}",
                    kind,
                    f"{figures['pushes']:.0f}",
                    f"{figures['writes']:.1f}",
                    f"{figures['changes']:.1f}",
                ]
            )
    return _table(
        ["Cabinets", "Push kind", "Pushes", "Writes per push", "Changed per push"],
        rows,
    )


def unchanged_writes(results: Sequence[FleetResult]) -> list[str]:
    """Return the entities that a push wrote without changing them, if any."""
    rows = [
        [
            f"{result.cabinets:,}",
            str(write["push"]),
            f"`{write['entity_id']}`",
            str(write["writes"]),
        ]
        for result in results
        for write in result.writes.unchanged
    ]
    if not rows:
        return ["No push wrote an entity without changing it."]
    return _table(["Cabinets", "Push kind", "Entity", "Writes without a change"], rows)


def memory_slope(results: Sequence[FleetResult]) -> float:
    """Return the least-squares slope of added memory over cabinets, in bytes."""
    points = [
        (result.cabinets, result.setup.rss_after - result.setup.rss_before)
        for result in results
    ]
    if len(points) < 2:
        return points[0][1] / points[0][0] if points else math.nan
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return math.nan
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


def setup_table(results: Sequence[FleetResult]) -> list[str]:
    """Return the table of set-up times and memory use."""
    rows = []
    for result in results:
        setup = result.setup
        added = setup.rss_after - setup.rss_before
        rows.append(
            [
                f"{result.cabinets:,}",
                f"{setup.create_seconds:.1f} ({setup.create_gc_seconds:.1f})",
                f"{setup.reload_seconds:.1f} ({setup.reload_gc_seconds:.1f})",
                f"{setup.rss_before / MEBIBYTE:.0f}",
                f"{setup.rss_after / MEBIBYTE:.0f}",
                f"{added / MEBIBYTE:.0f}",
                f"{added / result.cabinets / KIBIBYTE:.0f}",
            ]
        )
    return _table(
        [
            "Cabinets",
            "Set-up s, config flow (GC s)",
            "Set-up s, reload (GC s)",
            "RSS before MiB",
            "RSS after MiB",
            "Added MiB",
            "Added KiB/cabinet",
        ],
        rows,
    )


def target_lines(results: Sequence[FleetResult]) -> list[str]:
    """Return one line per target: met or missed, with the deciding figures."""
    if not results:
        return []
    lines = []

    rejected_at = [
        f"{result.cabinets:,}"
        for result in results
        if result.setup.entity_limit_warnings
    ]
    per_cabinet = results[0].setup.entities_enabled / results[0].cabinets
    lines.append(
        _verdict(
            not rejected_at,
            "Every cabinet gets all its enabled entities"
            + (
                f": Home Assistant rejected entities over its limit of enabled "
                f"entities per config entry at {', '.join(rejected_at)} cabinets "
                f"({per_cabinet:.0f} enabled per cabinet at {results[0].cabinets:,})"
                if rejected_at
                else ""
            ),
        )
    )

    worst_cpu = max(
        _ratio(result.push.cpu_per_push, result.floor.cpu_per_push)
        for result in results
    )
    worst_p50 = max(
        _ratio(result.push.latency_p50, result.floor.latency_p50) for result in results
    )
    lines.append(
        _verdict(
            worst_cpu <= MAX_PUSH_RATIO and worst_p50 <= MAX_PUSH_RATIO,
            f"Push handling within {MAX_PUSH_RATIO}x the no-op floor: worst CPU "
            f"ratio {worst_cpu:.2f}, worst median latency ratio {worst_p50:.2f}",
        )
    )

    worst_writing = max(
        _ratio(result.push.cpu_per_push, result.writing.cpu_per_push)
        for result in results
    )
    lines.append(
        "- reported: CPU per push against the no-op webhook that also makes the "
        f"integration's mean state writes and one bus event: worst ratio "
        f"{worst_writing:.2f}"
    )

    worst_entities = max(
        _ratio(result.push.cpu_per_push, result.entities.cpu_per_push)
        for result in results
    )
    lines.append(
        "- reported: CPU per push against the no-op webhook that makes the same "
        "writes through entities (an event entity and sensors) and one bus event: "
        f"worst ratio {worst_entities:.2f}"
    )

    smallest, largest = results[0], results[-1]
    growth = _ratio(largest.push.cpu_per_push, smallest.push.cpu_per_push)
    lines.append(
        _verdict(
            growth <= MAX_PUSH_GROWTH,
            f"CPU per push not growing with the fleet (at most {MAX_PUSH_GROWTH}x): "
            f"{largest.cabinets:,} cabinets cost {growth:.2f}x "
            f"{smallest.cabinets:,} cabinets",
        )
    )
    # Each fleet size runs in a Home Assistant of its own, minutes apart, so
    # a busier machine shows as growth above. The ratio to the no-op floor
    # of the same rounds leaves the machine's load out.
    ratio_growth = _ratio(
        _ratio(largest.push.cpu_per_push, largest.floor.cpu_per_push),
        _ratio(smallest.push.cpu_per_push, smallest.floor.cpu_per_push),
    )
    lines.append(
        "- reported: CPU ratio to the no-op floor, "
        f"{largest.cabinets:,} cabinets against {smallest.cabinets:,}: "
        f"{ratio_growth:.2f}x"
    )

    extra_writes = sum(
        result.writes.writes - result.writes.changes for result in results
    )
    other = sum(result.writes.writes_of_other_cabinets for result in results)
    lines.append(
        _verdict(
            extra_writes <= 0 and other == 0,
            f"State writes per push no more than entities changed: "
            f"{extra_writes:,} writes without a change over all fleet sizes, "
            f"{other} writes of other cabinets",
        )
    )

    over = [
        f"{result.cabinets:,}: {result.poll.requests} > {result.poll.listing_pages + 1}"
        for result in results
        if result.poll.requests > result.poll.listing_pages + 1
    ]
    lines.append(
        _verdict(
            not over,
            "Requests per poll no more than listing pages + 1"
            + (f" (missed at {', '.join(over)})" if over else ""),
        )
    )

    at_target = [r for r in results if r.cabinets == SETUP_TARGET_CABINETS]
    if at_target:
        lines.append(_setup_verdict(results, at_target[0]))
    else:
        lines.append(
            f"- not measured: entry set-up for {SETUP_TARGET_CABINETS:,} cabinets "
            "(add it to --fleets)"
        )

    lines.append(
        f"- reported: memory per cabinet {memory_slope(results) / KIBIBYTE:.0f} KiB "
        "(least-squares slope of added RSS over cabinets)"
    )
    return lines


def _setup_verdict(results: Sequence[FleetResult], target: FleetResult) -> str:
    """Return the set-up target's line, with an estimate when entities were rejected.

    When Home Assistant rejected entities, the measured set-up did less work
    than a full one. The estimate then scales the seconds per registered
    entity of the largest fleet without rejections to every entity that the
    target fleet would register. It assumes that set-up time grows linearly.
    """
    setup = target.setup
    measured = (
        f"config flow {setup.create_seconds:.1f} s, reload {setup.reload_seconds:.1f} s"
    )
    slowest = max(setup.create_seconds, setup.reload_seconds)
    text = (
        f"Entry set-up for {target.cabinets:,} cabinets under "
        f"{MAX_SETUP_SECONDS:.0f} s: {measured}"
    )
    if not setup.entity_limit_warnings:
        return _verdict(slowest < MAX_SETUP_SECONDS, text)

    complete = [r for r in results if not r.setup.entity_limit_warnings]
    if not complete:
        return _verdict(False, f"{text}, with entities rejected (no estimate)")
    reference = complete[-1]
    per_cabinet = reference.setup.entities_registered / reference.cabinets
    entities = per_cabinet * target.cabinets
    seconds_per_entity = max(
        reference.setup.create_seconds, reference.setup.reload_seconds
    ) / max(reference.setup.entities_registered, 1)
    estimate = seconds_per_entity * entities
    return _verdict(
        False,
        f"{text}, but only {setup.entities_registered:,} of about "
        f"{entities:,.0f} entities were registered; a linear estimate from "
        f"{reference.cabinets:,} cabinets for all of them is {estimate:.0f} s",
    )


def _verdict(met: bool, text: str) -> str:
    return f"- {'met' if met else 'MISSED'}: {text}"


def report(results: Sequence[FleetResult]) -> list[str]:
    """Return every table and the targets, ready to print."""
    return [
        "## Push handling",
        "",
        *push_table(results),
        "",
        "The no-op webhook with writes also makes, per push, the integration's "
        "mean number of state writes (measured below) and fires one bus event. "
        "The no-op webhook with entities makes as many writes through entities "
        "(an event entity and sensors) and fires one bus event.",
        "",
        *share_table(results),
        "",
        "## State writes and polls",
        "",
        *writes_table(results),
        "",
        *kinds_table(results),
        "",
        *unchanged_writes(results),
        "",
        "## Set-up and memory",
        "",
        *setup_table(results),
        "",
        "## Targets",
        "",
        *target_lines(results),
        "",
    ]
