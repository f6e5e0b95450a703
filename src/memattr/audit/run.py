"""Audit one host or a fleet of hosts: load, detect the policy, trace, check, summarise."""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import signal
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable

from memattr.audit.config import RuleConfig
from memattr.audit.engine import AuditResult, audit_regions, merge_unknown_fwb
from memattr.audit.subject import AuditRegion
from memattr.audit.from_inventory import evidence_of, regions_of
from memattr.audit.rules import Severity
from memattr.errors import MemattrError
from memattr.linux.evidence import detect_policy
from memattr.linux.version import KernelVersion
from memattr.platform.host import load_host


@dataclass(frozen=True, slots=True)
class AuditRequest:
    kernel: str | None = None  # overrides the collected release
    policy: str | None = None
    fwb: bool | None = None  # None: from the evidence (boot log), else False with a warning
    guest_map: str = "auto"
    config: RuleConfig = RuleConfig()
    dic: bool | None = None  # None: from the boot log, else present
    assume_arm64: bool = False


def select_regions(regions: list[AuditRegion], bdfs: tuple[str, ...] = (),
                   names: tuple[str, ...] = ()) -> list[AuditRegion]:
    """--bdf (0000:01:00.0 or 01:00.0) and --region (a region kind, or part of a region's name) filters."""
    wanted_bdfs = {b.lower() if b.count(":") == 2 else f"0000:{b.lower()}" for b in bdfs}
    chosen = [r for r in regions if not wanted_bdfs or (r.bdf or "") in wanted_bdfs]
    if names:
        chosen = [r for r in chosen if any(n == r.kind or n in r.name for n in names)]
    return chosen


def audit_host(directory: str | os.PathLike[str] | None, request: AuditRequest,
               overrides: dict[str, Any] | None = None, name: str | None = None,
               bdfs: tuple[str, ...] = (), region_names: tuple[str, ...] = ()) -> AuditResult:
    """Audit one host.  Exactly "nothing understood" is bad input: a host with no region is an error."""
    inventory = load_host(directory, name=name, overrides=overrides)
    arch, why = inventory.architecture()
    if arch not in (None, "arm64") and not request.assume_arm64:
        raise MemattrError(f"host {inventory.name} is {arch} ({why}), not arm64",
                           expected="an arm64 host, or --assume-arm64 to audit its PCI layout as if it were one")
    regions = regions_of(inventory)
    if not regions:
        raise MemattrError(f"no device region found in {', '.join(inventory.inputs) or 'the inputs'}",
                           source=str(directory) if directory else None,
                           expected="PCI BARs (sysfs, lspci, a kernel log, /proc/iomem) or device-tree MMIO")
    if bdfs or region_names:
        regions = select_regions(regions, bdfs, region_names)
        if not regions:
            raise MemattrError("no region matches --bdf/--region",
                               expected="a BDF or region kind/name present on the host (memattr inventory lists them)")
    evidence = evidence_of(inventory)
    if request.kernel:
        KernelVersion.parse(request.kernel)  # a clear error for a malformed --kernel
        evidence = replace(evidence, release=request.kernel)
    detection = detect_policy(evidence)
    warnings = list(inventory.warnings)
    fwb = request.fwb if request.fwb is not None else detection.fwb

    def run(with_fwb: bool) -> AuditResult:
        return audit_regions(inventory.name, regions, detection=detection, fwb=with_fwb,
                             guest_map=request.guest_map, config=request.config, policy=request.policy,
                             dic=request.dic, warnings=tuple(warnings), inputs=inventory.inputs)

    if fwb is not None:
        return run(fwb)
    return merge_unknown_fwb(run(False), run(True))


@dataclass(frozen=True, slots=True)
class FleetRow:
    """One host of a fleet: its summary, and the full result only when the caller asked to keep it.

    ``status`` is ``ok``, ``bad input`` (the host's files are wrong: exit 2 for that host) or
    ``failed`` (the audit crashed, was killed or ran past ``--host-timeout``: exit 3).
    """

    host: str
    summary_data: dict[str, Any]
    result: AuditResult | None = None
    error: str | None = None
    fail_counts: dict[str, int] | None = None  # findings at or above each severity
    status: str = "ok"

    def summary(self) -> dict[str, Any]:
        return self.summary_data

    def count_at_or_above(self, severity: Severity) -> int:
        return (self.fail_counts or {}).get(severity.value, 0)


def summarise(name: str, result: AuditResult) -> dict[str, Any]:
    counts = {s.value: sum(1 for f in result.findings if f.severity is s) for s in Severity}
    return {"host": name, "status": "ok", "kernel": result.kernel, "policy": result.policy, "fwb": result.fwb,
            "regions": len(result.regions), "findings": counts}


def _failed_row(name: str, status: str, why: str) -> FleetRow:
    return FleetRow(name, {"host": name, "status": status, "error": why}, None, why, None, status)


def _audit_one(args: tuple[str, AuditRequest, bool]) -> FleetRow:
    directory, request, keep = args
    name = Path(directory).name
    try:
        result = audit_host(directory, request)
    except MemattrError as error:
        return _failed_row(name, "bad input", str(error))
    except RecursionError as error:
        return _failed_row(name, "failed", f"{type(error).__name__}: {error}")
    fail_counts = {s.value: result.count_at_or_above(s) for s in Severity}
    # Sending whole results between processes costs more than auditing: keep them only when needed.
    return FleetRow(name, summarise(name, result), result if keep else None, None, fail_counts)


def fleet_hosts(directory: str | os.PathLike[str]) -> list[Path]:
    root = Path(directory)
    if not root.is_dir():
        raise MemattrError("not a directory", source=str(root), expected="a directory of host directories")
    hosts = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not hosts:
        raise MemattrError("no host directories inside", source=str(root), expected="one sub-directory per host")
    return hosts


DEFAULT_HOST_TIMEOUT = 60.0  # seconds; a real host audits in well under a second


def audit_fleet(hosts: list[Path], request: AuditRequest, jobs: int,
                progress: Callable[[FleetRow], None] | None = None, keep_results: bool = False,
                host_timeout: float = DEFAULT_HOST_TIMEOUT) -> list[FleetRow]:
    """Audit every host in a process of its own, ``jobs`` at a time; rows come back in host order.

    A host that raises, crashes its process or runs past ``host_timeout`` seconds becomes a
    ``failed`` row; the other hosts are always reported.  Each worker audits a batch of hosts (so a
    large fleet does not pay a process start per host) and is killed if one of them overruns.
    """
    work = [(str(host), request, keep_results) for host in hosts]
    rows: dict[int, FleetRow] = {}
    pending = list(range(len(work)))
    pending.reverse()
    context = multiprocessing.get_context("fork")
    running: dict[Any, _Worker] = {}
    batch = max(1, min(16, len(work) // (jobs * 4) or 1))

    def start() -> None:
        indexes = [pending.pop() for _ in range(min(batch, len(pending)))]
        reader, writer = context.Pipe(duplex=False)
        process = context.Process(target=_worker_main, args=(writer, [work[i] for i in indexes]), daemon=True)
        process.start()
        writer.close()
        running[reader] = _Worker(process, indexes, time.monotonic())

    def finish(row: FleetRow, index: int) -> None:
        rows[index] = row
        if progress:
            progress(row)

    while pending or running:
        while pending and len(running) < jobs:
            start()
        now = time.monotonic()
        deadline = min(w.since + host_timeout for w in running.values())
        ready = multiprocessing.connection.wait(list(running), timeout=max(0.0, deadline - now))
        for reader in ready:
            worker = running[reader]
            try:
                row = reader.recv()
            except (EOFError, OSError):
                row = None
            if row is None:  # the process ended without sending: it crashed
                worker.process.join(timeout=5)
                code = worker.process.exitcode
                why = f"the audit process died (signal {-code})" if code and code < 0 else \
                    f"the audit process exited with status {code}"
                finish(_failed_row(Path(work[worker.indexes[0]][0]).name, "failed", why), worker.indexes[0])
                _retire(reader, running, pending, worker.indexes[1:])
                continue
            finish(row, worker.indexes[0])
            worker.indexes.pop(0)
            worker.since = time.monotonic()
            if not worker.indexes:
                reader.close()
                worker.process.join(timeout=5)
                del running[reader]
        now = time.monotonic()
        for reader, worker in list(running.items()):
            if now - worker.since >= host_timeout and worker.indexes:
                worker.process.kill()
                worker.process.join(timeout=5)
                index = worker.indexes[0]
                finish(_failed_row(Path(work[index][0]).name, "failed",
                                   f"timed out after {host_timeout:g} s (--host-timeout)"), index)
                _retire(reader, running, pending, worker.indexes[1:])
    return [rows[i] for i in range(len(work))]


@dataclass
class _Worker:
    process: Any
    indexes: list[int]
    since: float


def _retire(reader: Any, running: dict[Any, _Worker], pending: list[int], rest: list[int]) -> None:
    """Forget a dead worker; the hosts it had not reached go back to the queue."""
    worker = running.pop(reader)
    if worker.process.is_alive():
        worker.process.kill()
        worker.process.join(timeout=5)
    reader.close()
    pending.extend(reversed(rest))


def _worker_main(writer: Any, items: list[tuple[str, AuditRequest, bool]]) -> None:
    # A worker dies with its parent's signals (SIGINT reaches the whole process group anyway).
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for item in items:
        try:
            row = _audit_one(item)
        except Exception as error:  # a bug in memattr: report it as this host's failure, keep going
            row = _failed_row(Path(item[0]).name, "failed", f"{type(error).__name__}: {error}"[:300])
        writer.send(row)
    writer.close()
