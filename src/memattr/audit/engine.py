"""Run the model over a host's regions and the rules over the results."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from memattr.audit.config import RuleConfig
from memattr.audit.rules import RULES, Finding, Severity
from memattr.audit.subject import AuditRegion, Subject
from memattr.errors import MemattrError
from memattr.linux.chain import trace
from memattr.linux.evidence import Detection
from memattr.linux.version import KernelVersion

# --guest-map: what the guest driver is assumed to call.  "auto" follows what Linux drivers do.
GUEST_MAPS = {
    "auto": None,
    "wc": "ioremap_wc",
    "device": "ioremap",
    "np": "ioremap_np",
    "wb": "memremap_wb",
}


def guest_call_for(region: AuditRegion, guest_map: str) -> str:
    if guest_map not in GUEST_MAPS:
        raise MemattrError(f"unknown --guest-map {guest_map!r}", expected=f"one of {', '.join(GUEST_MAPS)}")
    chosen = GUEST_MAPS[guest_map]
    if chosen:
        return chosen
    if region.coherent:
        return "memremap_wb"
    if region.nonposted:
        return "ioremap_np"
    if region.pci and region.prefetchable:
        return "ioremap_wc"  # e.g. a GPU aperture or a NIC's write-combining doorbell page
    return "ioremap"


@dataclass(frozen=True, slots=True)
class RegionResult:
    subject: Subject
    findings: tuple[Finding, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "region": self.subject.region.to_json(),
            "guest": self.subject.guest_call,
            "stage2": self.subject.stage2.to_json(),
            "effective": self.subject.effective.to_json(),
            "aliases": [alias.to_json() for alias in self.subject.aliases],
            "findings": [finding.to_json() for finding in self.findings],
        }


@dataclass(frozen=True, slots=True)
class AuditResult:
    host: str
    kernel: str | None
    policy: str
    fwb: bool | None  # None: FEAT_S2FWB unknown, every region audited both ways (merge_unknown_fwb)
    guest_map: str
    regions: tuple[RegionResult, ...]
    detection: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for r in self.regions for f in r.findings)

    def count_at_or_above(self, severity: Severity) -> int:
        return sum(1 for f in self.findings if f.severity.rank >= severity.rank)

    def to_json(self) -> dict[str, Any]:
        counts = {s.value: sum(1 for f in self.findings if f.severity is s) for s in Severity}
        return {
            "host": self.host, "kernel": self.kernel, "policy": self.policy, "fwb": self.fwb,
            "guest_map": self.guest_map, "detection": self.detection, "warnings": list(self.warnings),
            "inputs": list(self.inputs), "summary": {"regions": len(self.regions), "findings": counts},
            "regions": [r.to_json() for r in self.regions],
        }


def audit_regions(
    host: str,
    regions: list[AuditRegion],
    *,
    detection: Detection,
    fwb: bool,
    guest_map: str = "auto",
    config: RuleConfig = RuleConfig(),
    policy: str | None = None,
    warnings: tuple[str, ...] = (),
    inputs: tuple[str, ...] = (),
    dic: bool | None = None,
) -> AuditResult:
    """Trace every region under the host's policy and run the enabled rules.

    ``dic`` (CTR_EL0.DIC) defaults to the boot log's answer, else present: it only matters to v6.17+
    cacheable PFNMAP memory, and every FWB-capable server core seen reports it.
    """
    if dic is None:
        dic = detection.dic if detection.dic is not None else True
    policy_name = policy or detection.policy.name
    kernel = detection.version
    results = []
    for region in regions:
        call = guest_call_for(region, guest_map)
        traced = trace(region=region.kind, guest_call=call, fwb=fwb, dic=dic, kernel=_layout_kernel(kernel, region),
                       policy=policy_name)
        subject = Subject(
            region=region, guest_call=call, fwb=fwb, stage2=traced.stage2, effective=traced.effective,
            aliases=traced.aliases, hazards=traced.hazards, guest_memtype=traced.guest_memtype,
            explanation=traced.explanation, observations=region.observations,
        )
        findings = []
        for rule in RULES:
            if not config.enabled(rule.id):
                continue
            for message, evidence in rule.check(subject):
                findings.append(Finding(rule.id, config.severity(rule.id, rule.severity), region.name, message,
                                        evidence))
        results.append(RegionResult(subject, tuple(findings)))
    return AuditResult(host, str(kernel) if kernel else None, policy_name, fwb, guest_map, tuple(results),
                       detection.to_json(), warnings + detection.warnings, inputs)


def merge_unknown_fwb(without: AuditResult, with_fwb: AuditResult) -> AuditResult:
    """One result for a host whose FEAT_S2FWB is unknown: each region as audited without FWB, with the
    findings of both runs, and a note on every region whose effective type depends on FWB."""
    regions = []
    notes = []
    for off, on in zip(without.regions, with_fwb.regions):
        type_off = off.subject.effective.memory_type or "refused"
        type_on = on.subject.effective.memory_type or "refused"
        findings = list(off.findings)
        seen = {(f.rule, f.message) for f in findings}
        findings += [f for f in on.findings if (f.rule, f.message) not in seen]
        effective = off.subject.effective
        if type_off != type_on:
            effective = replace(effective, depends_on_fwb=(type_off, type_on))
            notes.append(f"{off.subject.region.name}: the guest gets {type_off} without FEAT_S2FWB and {type_on} "
                         f"with it; FEAT_S2FWB is unknown (pass --fwb/--no-fwb)")
        subject = replace(off.subject, effective=effective)
        regions.append(RegionResult(subject, tuple(findings)))
    return replace(without, fwb=None, regions=tuple(regions), warnings=without.warnings + tuple(notes))


def _layout_kernel(kernel: KernelVersion | None, region: AuditRegion) -> KernelVersion | None:
    # nvgrace-gpu exists from v6.9 (701ab935859f): an older (backported) host is modelled with the v6.9 driver.
    if region.coherent and kernel is not None and kernel < KernelVersion(6, 9):
        return KernelVersion(6, 9)
    return kernel
