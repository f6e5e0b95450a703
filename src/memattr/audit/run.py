"""Audit one host or a fleet of hosts: load, detect the policy, trace, check, summarise."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

from memattr.audit.config import RuleConfig
from memattr.audit.engine import AuditResult, audit_regions
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


def audit_host(directory: str | os.PathLike[str] | None, request: AuditRequest,
               overrides: dict[str, Any] | None = None, name: str | None = None) -> AuditResult:
    inventory = load_host(directory, name=name, overrides=overrides)
    evidence = evidence_of(inventory)
    if request.kernel:
        KernelVersion.parse(request.kernel)  # a clear error for a malformed --kernel
        evidence = type(evidence)(release=request.kernel, config=evidence.config, modules=evidence.modules,
                                  symbols=evidence.symbols, boot_log=evidence.boot_log)
    detection = detect_policy(evidence)
    warnings = list(inventory.warnings)
    fwb = request.fwb
    if fwb is None:
        fwb = bool(detection.fwb)
    return audit_regions(inventory.name, regions_of(inventory), detection=detection, fwb=fwb,
                         guest_map=request.guest_map, config=request.config, policy=request.policy,
                         warnings=tuple(warnings), inputs=inventory.inputs)


@dataclass(frozen=True, slots=True)
class FleetRow:
    """One host of a fleet: its summary, and the full result only when the caller asked to keep it."""

    host: str
    summary_data: dict[str, Any]
    result: AuditResult | None = None
    error: str | None = None
    fail_counts: dict[str, int] | None = None  # findings at or above each severity

    def summary(self) -> dict[str, Any]:
        return self.summary_data

    def count_at_or_above(self, severity: Severity) -> int:
        return (self.fail_counts or {}).get(severity.value, 0)


def summarise(name: str, result: AuditResult) -> dict[str, Any]:
    counts = {s.value: sum(1 for f in result.findings if f.severity is s) for s in Severity}
    return {"host": name, "kernel": result.kernel, "policy": result.policy, "fwb": result.fwb,
            "regions": len(result.regions), "findings": counts}


def _audit_one(args: tuple[str, AuditRequest, bool]) -> FleetRow:
    directory, request, keep = args
    name = Path(directory).name
    try:
        result = audit_host(directory, request)
    except MemattrError as error:
        return FleetRow(name, {"host": name, "error": str(error)}, None, str(error))
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


def audit_fleet(hosts: list[Path], request: AuditRequest, jobs: int,
                progress: Callable[[FleetRow], None] | None = None, keep_results: bool = False) -> list[FleetRow]:
    """Audit every host, ``jobs`` at a time (processes); rows come back in host order."""
    work = [(str(host), request, keep_results) for host in hosts]
    rows: list[FleetRow] = []
    if jobs <= 1:
        iterator: Iterator[FleetRow] = map(_audit_one, work)
        for row in iterator:
            rows.append(row)
            if progress:
                progress(row)
        return rows
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for row in pool.map(_audit_one, work, chunksize=max(1, len(work) // (jobs * 8) or 1)):
            rows.append(row)
            if progress:
                progress(row)
    return rows
