"""The benchmark's measurements on one running instance, and their figures."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
import math
from pathlib import Path
import statistics
import time
from typing import Any

from bench_instance import (
    CLOUD_PASSWORD,
    CLOUD_USERNAME,
    BenchError,
    Instance,
    cpu_seconds_between,
    log,
    read_rss_bytes,
    read_thread_cpu,
    since,
)
from bench_load import Push, PushFactory, percentile, send_pushes
from demo_config import DOMAIN

SETTLE_SECONDS = 3.0
"""Seconds to wait before reading the memory use, so that set-up work is done."""
ENTITY_POLL_INTERVAL = 0.1
LISTING_PAGE_PATH = "/cabinet/getAllDevicePage"
HEADERS = {"Content-Type": "application/json"}
ENTITY_LIMIT_MESSAGE = "Reached the maximum of"
"""Start of the warning Home Assistant logs when it rejects an entry's entities.

Home Assistant 2026.10.4 adds at most 10,000 enabled entities per config
entry (MAX_ENABLED_ENTITIES_PER_CONFIG_ENTRY in helpers/entity_platform.py)
and logs this once per platform when it rejects more.
"""


@dataclass(kw_only=True)
class SetupFigures:
    """Set-up time and memory of the config entry for one fleet."""

    entities_registered: int
    entities_enabled: int
    create_seconds: float
    """From submitting the config flow to every enabled entity having a state."""
    create_gc_seconds: float
    """Time the garbage collector ran during create_seconds."""
    reload_seconds: float
    """From requesting a reload to every enabled entity having a state again."""
    reload_gc_seconds: float
    rss_before: int
    """Resident set size of Home Assistant before the entry, in bytes."""
    rss_after: int
    """Resident set size after the entry's first set-up, in bytes."""
    entity_limit_warnings: int
    """Platforms for which Home Assistant rejected entities over its limit."""


@dataclass(kw_only=True)
class PollFigures:
    """Cloud requests and state writes of one forced refresh."""

    requests: int
    requests_by_path: dict[str, int]
    listing_pages: int
    """Pages the fleet listing needs at the page size the integration asked for."""
    page_size: int
    seconds: float
    writes: int
    changes: int


@dataclass(kw_only=True)
class PushFigures:
    """Push handling by one webhook at one fleet size, over every round."""

    rounds: int
    requests: int
    processed: int
    """Pushes the handler counted on the server side."""
    errors: int
    timed_out: bool
    throughput: float
    """Median over the rounds of responses per second."""
    latency_p50: float
    latency_p99: float
    cpu_per_push: float
    """Seconds of Home Assistant's CPU time per processed push, in the round
    with the median figure."""
    gc_per_push: float
    """Seconds of garbage collection per processed push in that round, part of
    cpu_per_push."""


@dataclass(kw_only=True)
class WriteFigures:
    """State writes of single pushes, sent one after another."""

    pushes: int
    writes: int
    changes: int
    max_writes: int
    max_changes: int
    writes_of_other_cabinets: int
    """Writes of entities that belong to a cabinet other than the pushed one."""
    by_kind: dict[str, dict[str, float]] = field(default_factory=dict)
    """Per push kind: pushes, mean writes and mean changes per push."""
    unchanged: list[dict[str, str | int]] = field(default_factory=list)
    """Each entity that a push wrote without a change: push kind, entity, writes."""


def _total(recorded: list[dict[str, Any]], count: str) -> int:
    """Return the sum of one count ("writes" or "changes") over recorded entities."""
    return sum(int(entity[count]) for entity in recorded)


async def measure_setup(
    instance: Instance, *, time_limit: float
) -> tuple[str, SetupFigures]:
    """Add the entry through its config flow, then reload it; time both."""
    api = instance.api
    await asyncio.sleep(SETTLE_SECONDS)
    rss_before = read_rss_bytes(instance.home_assistant_pid)

    log(f"Adding the {DOMAIN} entry for {instance.cabinets} cabinets")
    gc_before = (await api.helper_stats())["gc_seconds"]
    started = time.monotonic()
    entry = await api.home_assistant.add_config_entry(
        DOMAIN,
        {
            "username": CLOUD_USERNAME,
            "password": CLOUD_PASSWORD,
            "base_url": instance.simulator_url,
            "register_push": True,
        },
        api.token,
    )
    entry_id = str(entry["entry_id"])
    counts = await wait_for_entities(instance, entry_id, started, time_limit)
    create_seconds = since(started)
    create_gc_seconds = (await api.helper_stats())["gc_seconds"] - gc_before
    log(f"Entry set up in {create_seconds:.1f} s: {counts}")
    limit_warnings = count_log_lines(
        instance.home_assistant.log_path, ENTITY_LIMIT_MESSAGE
    )
    if limit_warnings:
        log(
            "Home Assistant rejected entities over its limit of enabled entities "
            f"per config entry, for {limit_warnings} platforms"
        )

    await asyncio.sleep(SETTLE_SECONDS)
    rss_after = read_rss_bytes(instance.home_assistant_pid)

    gc_before = (await api.helper_stats())["gc_seconds"]
    started = time.monotonic()
    await api.reload_entry(entry_id)
    await wait_for_entities(instance, entry_id, started, time_limit)
    reload_seconds = since(started)
    reload_gc_seconds = (await api.helper_stats())["gc_seconds"] - gc_before
    log(f"Entry reloaded in {reload_seconds:.1f} s")

    return entry_id, SetupFigures(
        entities_registered=counts["registered"],
        entities_enabled=counts["enabled"],
        create_seconds=create_seconds,
        create_gc_seconds=create_gc_seconds,
        reload_seconds=reload_seconds,
        reload_gc_seconds=reload_gc_seconds,
        rss_before=rss_before,
        rss_after=rss_after,
        entity_limit_warnings=limit_warnings,
    )


def count_log_lines(log_path: Path, text: str) -> int:
    """Return how many lines of a log file contain text."""
    with log_path.open(encoding="utf-8", errors="replace") as log_file:
        return sum(1 for line in log_file if text in line)


async def wait_for_entities(
    instance: Instance, entry_id: str, started: float, time_limit: float
) -> dict[str, int]:
    """Wait until the entry is loaded and each enabled entity has a state."""
    api = instance.api
    while since(started) < time_limit:
        if instance.home_assistant.exit_code is not None:
            raise BenchError(
                f"Home Assistant exited with code {instance.home_assistant.exit_code}"
                f"; see {instance.home_assistant.log_path}"
            )
        state = await api.entry_state(entry_id)
        if state in ("setup_error", "setup_retry", "migration_error"):
            raise BenchError(
                f"The {DOMAIN} entry is in state {state}; "
                f"see {instance.home_assistant.log_path}"
            )
        if state == "loaded":
            counts = await api.entity_counts(entry_id)
            if counts["enabled"] > 0 and counts["with_state"] == counts["enabled"]:
                return counts
        await asyncio.sleep(ENTITY_POLL_INTERVAL)
    raise BenchError(
        f"The {DOMAIN} entry did not show all its entities within {time_limit:.0f} s"
    )


async def measure_poll(instance: Instance, entry_id: str) -> PollFigures:
    """Count the cloud requests and state writes of one forced refresh."""
    api = instance.api
    await api.record_writes(DOMAIN)
    await api.helper_stats(reset=True)
    before = len(await api.simulator_requests())

    started = time.monotonic()
    await api.call_action(DOMAIN, "refresh", {"config_entry_id": entry_id})
    seconds = since(started)

    new_requests = (await api.simulator_requests())[before:]
    recorded = (await api.helper_stats(reset=True))["recorded"]
    await api.record_writes(None)

    by_path = Counter(str(request["path"]) for request in new_requests)
    page_sizes = [
        int(request["query"]["limit"])
        for request in new_requests
        if request["path"] == LISTING_PAGE_PATH and "limit" in request["query"]
    ]
    page_size = min(page_sizes) if page_sizes else instance.cabinets
    return PollFigures(
        requests=len(new_requests),
        requests_by_path=dict(by_path),
        listing_pages=max(1, math.ceil(instance.cabinets / page_size)),
        page_size=page_size,
        seconds=seconds,
        writes=_total(recorded, "writes"),
        changes=_total(recorded, "changes"),
    )


async def prime_cabinets(
    instance: Instance,
    factory: PushFactory,
    *,
    push_url: str,
    clients: int,
    time_limit: float,
) -> None:
    """Send one status report to every cabinet, so the rounds see a running system.

    A cabinet's first status report after set-up fills in what the fleet
    listing lacks (the battery list, and with it the abnormal-battery
    entities), so it writes more than later pushes do.
    """
    pushes = factory.build_status_reports()
    log(f"Sending a status report to each of the {len(pushes):,} cabinets")
    run = await send_pushes(push_url, pushes, clients=clients, time_limit=time_limit)
    if run.errors or run.timed_out:
        raise BenchError(
            f"Sending a status report to every cabinet failed: {run.errors} errors"
            + (", timed out" if run.timed_out else "")
        )


async def calibrate_writes(
    instance: Instance,
    factory: PushFactory,
    *,
    push_url: str,
    pushes: int,
    clients: int,
    time_limit: float,
) -> float:
    """Return the integration's state writes per push, sent as in the rounds.

    The writing and entities webhooks make this many writes per push. The
    writes are recorded here rather than in the rounds, because recording
    them costs Home Assistant time of its own.
    """
    api = instance.api
    await api.record_writes(DOMAIN)
    before = await api.helper_stats(reset=True)
    try:
        await send_pushes(
            push_url, factory.build(pushes), clients=clients, time_limit=time_limit
        )
        after = await api.helper_stats(reset=True)
    finally:
        await api.record_writes(None)
    processed = after["cabinet_events"] - before["cabinet_events"]
    writes = _total(after["recorded"], "writes")
    per_push = writes / processed if processed else 0.0
    log(f"The integration made {per_push:.2f} state writes per push")
    return per_push


@dataclass(kw_only=True)
class PushRuns:
    """Push handling by the four webhooks at one fleet size."""

    floor: PushFigures
    """The no-op webhook: parse, count, reply."""
    writing: PushFigures
    """The no-op webhook plus the integration's mean state writes and one event."""
    entities: PushFigures
    """The no-op webhook plus the same writes through entities and one event."""
    integration: PushFigures
    writes_per_push: float
    """State writes per push of the writing and entities webhooks, from
    `calibrate_writes`."""


async def measure_pushes(
    instance: Instance,
    factory: PushFactory,
    *,
    urls: dict[str, str],
    writes_per_push: float,
    requests: int,
    rounds: int,
    warmup: int,
    clients: int,
    time_limit: float,
) -> PushRuns:
    """Send the same pushes to each webhook of `urls`, in turns.

    `urls` names the URL of the "floor", "writing", "entities" and
    "integration" webhooks. Each round sends its own new pushes to each of
    them in that order, so that all see the same bodies and the same
    background load. The writing and entities webhooks are set to
    `writes_per_push` first.
    """
    await instance.api.set_writes_per_push(writes_per_push)
    log(f"Building {warmup + rounds * requests} push bodies")
    warmup_pushes = factory.build(warmup)
    round_pushes = [factory.build(requests) for _ in range(rounds)]

    for url in urls.values():
        await send_pushes(url, warmup_pushes, clients=clients, time_limit=time_limit)

    counters = {
        "floor": "noop_requests",
        "writing": "writing_requests",
        "entities": "entities_requests",
        "integration": "cabinet_events",
    }
    targets = {name: (urls[name], counters[name]) for name in counters}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in targets}
    for number, pushes in enumerate(round_pushes, start=1):
        for name, (url, counter) in targets.items():
            run = await _timed_run(
                instance,
                url,
                pushes,
                counter=counter,
                clients=clients,
                time_limit=time_limit,
            )
            runs[name].append(run)
            log(
                f"Round {number} {name}: {run['throughput']:.0f} pushes/s, "
                f"{run['cpu'] / max(run['processed'], 1) * 1e6:.0f} µs CPU per push"
            )
    return PushRuns(
        floor=_push_figures(runs["floor"]),
        writing=_push_figures(runs["writing"]),
        entities=_push_figures(runs["entities"]),
        integration=_push_figures(runs["integration"]),
        writes_per_push=writes_per_push,
    )


async def _timed_run(
    instance: Instance,
    url: str,
    pushes: list[Push],
    *,
    counter: str,
    clients: int,
    time_limit: float,
) -> dict[str, Any]:
    """Send one round to one webhook; return its figures and server counts."""
    api = instance.api
    pid = instance.home_assistant_pid
    stats_before = await api.helper_stats()
    cpu_before = read_thread_cpu(pid)
    run = await send_pushes(url, pushes, clients=clients, time_limit=time_limit)
    cpu = cpu_seconds_between(cpu_before, read_thread_cpu(pid))
    stats_after = await api.helper_stats()
    processed = stats_after[counter] - stats_before[counter]
    return {
        "gc": stats_after["gc_seconds"] - stats_before["gc_seconds"],
        "requests": run.requests,
        "errors": run.errors,
        "timed_out": run.timed_out,
        "throughput": run.throughput,
        "latencies": run.latencies,
        "cpu": cpu,
        "processed": processed,
    }


def _per_push(seconds: float, processed: int) -> float:
    return seconds / processed if processed else math.nan


def _push_figures(runs: list[dict[str, Any]]) -> PushFigures:
    latencies = [latency for run in runs for latency in run["latencies"]]
    processed = sum(int(run["processed"]) for run in runs)
    # The round with the median CPU per push, so that one round that paid
    # for a full garbage collection or for other work on the machine does
    # not move the figure.
    middle = sorted(runs, key=lambda run: _per_push(run["cpu"], run["processed"]))[
        (len(runs) - 1) // 2
    ]
    return PushFigures(
        rounds=len(runs),
        requests=sum(int(run["requests"]) for run in runs),
        processed=processed,
        errors=sum(int(run["errors"]) for run in runs),
        timed_out=any(run["timed_out"] for run in runs),
        throughput=statistics.median(float(run["throughput"]) for run in runs),
        latency_p50=percentile(latencies, 0.50),
        latency_p99=percentile(latencies, 0.99),
        cpu_per_push=_per_push(middle["cpu"], middle["processed"]),
        gc_per_push=_per_push(middle["gc"], middle["processed"]),
    )


async def measure_writes(
    instance: Instance, factory: PushFactory, *, push_url: str, samples: int
) -> WriteFigures:
    """Send pushes one at a time and record the state writes of each."""
    api = instance.api
    pushes = factory.build(samples)
    watched = await api.record_writes(DOMAIN)
    log(f"Recording the state writes of {watched} entities for {samples} pushes")
    await api.helper_stats(reset=True)

    per_push: list[tuple[str, int, int, int]] = []
    unchanged: list[dict[str, str | int]] = []
    try:
        for push in pushes:
            async with api.session.post(
                push_url, data=push.body, headers=HEADERS
            ) as reply:
                await reply.read()
                if reply.status != 200:
                    raise BenchError(f"A push got HTTP {reply.status}")
            recorded = (await api.helper_stats(reset=True))["recorded"]
            writes = _total(recorded, "writes")
            changes = _total(recorded, "changes")
            foreign = sum(
                int(entity["writes"])
                for entity in recorded
                if entity["device"] != push.cabinet_id
            )
            per_push.append((push.kind, writes, changes, foreign))
            unchanged.extend(
                {
                    "push": push.kind,
                    "entity_id": str(entity["entity_id"]),
                    "writes": int(entity["writes"]) - int(entity["changes"]),
                }
                for entity in recorded
                if int(entity["writes"]) > int(entity["changes"])
            )
    finally:
        await api.record_writes(None)

    by_kind: dict[str, dict[str, float]] = {}
    for kind in sorted({kind for kind, *_ in per_push}):
        of_kind = [figures for figures in per_push if figures[0] == kind]
        by_kind[kind] = {
            "pushes": len(of_kind),
            "writes": statistics.mean(figures[1] for figures in of_kind),
            "changes": statistics.mean(figures[2] for figures in of_kind),
        }
    return WriteFigures(
        pushes=len(per_push),
        writes=sum(figures[1] for figures in per_push),
        changes=sum(figures[2] for figures in per_push),
        max_writes=max((figures[1] for figures in per_push), default=0),
        max_changes=max((figures[2] for figures in per_push), default=0),
        writes_of_other_cabinets=sum(figures[3] for figures in per_push),
        by_kind=by_kind,
        unchanged=unchanged,
    )
