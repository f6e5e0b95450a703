"""Which KVM stage-2 policy a host runs, from evidence rather than the version number alone.

Distribution kernels backport (a 6.6- or 6.8-based kernel may carry VM_ALLOW_ANY_UNCACHED and
nvgrace-gpu), so the version picks a starting point and markers collected on the host (kernel
config, modules, symbols, boot log) can raise it.  Each marker names the upstream change it proves
and where it comes from.  Parsing the files is the importers' job; this module takes their values.

Not yet used: the v6.17 cacheable-PFNMAP change has no symbol or module of its own (its helpers are
static); the reliable probe is KVM_CHECK_EXTENSION(KVM_CAP_ARM_CACHEABLE_PFNMAP_SUPPORTED) on /dev/kvm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from memattr.linux.kvm import POLICIES, Policy, policy_for_version, policy_named
from memattr.linux.version import KernelVersion


@dataclass(frozen=True, slots=True)
class Evidence:
    """What was collected from a host (any part may be missing)."""

    release: str | None = None  # uname -r
    config: dict[str, str] = field(default_factory=dict)  # CONFIG_FOO -> y/m/value
    modules: frozenset[str] = frozenset()  # loaded modules (/proc/modules)
    symbols: frozenset[str] = frozenset()  # /proc/kallsyms names
    boot_log: tuple[str, ...] = ()  # dmesg lines
    kvm_caps: dict[str, int] = field(default_factory=dict)  # KVM_CHECK_EXTENSION answers


@dataclass(frozen=True, slots=True)
class Marker:
    """Evidence that a host carries an upstream change, whatever its version says."""

    name: str
    proves: str  # the policy the change belongs to (the host runs at least this one)
    config: tuple[str, ...] = ()
    modules: tuple[str, ...] = ()
    symbols: tuple[str, ...] = ()
    source: str = ""
    kvm_caps: tuple[str, ...] = ()  # capabilities whose KVM_CHECK_EXTENSION answer is 1 or more

    def found(self, evidence: Evidence) -> list[str]:
        hits = [f"{name}={evidence.config[name]}" for name in self.config
                if evidence.config.get(name) in ("y", "m")]
        hits += [f"{name}={evidence.kvm_caps[name]}" for name in self.kvm_caps if evidence.kvm_caps.get(name, 0) >= 1]
        hits += [f"module {name}" for name in self.modules if name in evidence.modules]
        hits += [f"symbol {name}" for name in self.symbols if name in evidence.symbols]
        return hits


MARKERS: tuple[Marker, ...] = (
    Marker(
        "cacheable-pfnmap capability", "cacheable-pfnmap",
        kvm_caps=("KVM_CAP_ARM_CACHEABLE_PFNMAP_SUPPORTED",),
        source="KVM_CHECK_EXTENSION(KVM_CAP_ARM_CACHEABLE_PFNMAP_SUPPORTED) answers 1 only in a kernel with "
               "f55ce5a6cd33 'KVM: arm64: Expose new KVM cap for cacheable PFNMAP' (v6.17) on a CPU with FWB "
               "and DIC; 0 says nothing (an older kernel, or one without those features)",
    ),
    Marker(
        "nvgrace-gpu", "allow-any-uncached",
        config=("CONFIG_NVGRACE_GPU_VFIO_PCI",), modules=("nvgrace_gpu_vfio_pci",),
        source="drivers/vfio/pci/nvgrace-gpu (701ab935859f, v6.9) sets VM_ALLOW_ANY_UNCACHED on its resmem region "
               "(81617c17bf58, v6.9), which only means something with the v6.9 stage-2 change "
               "(8c47ce3e1d2c), so a kernel that ships the driver carries that change",
    ),
)

# Boot-log lines printed by arch/arm64/kernel/cpufeature.c ("CPU features: detected: <desc>") for the
# capabilities that matter here: ARM64_HAS_STAGE2_FWB, ARM64_HAS_CACHE_DIC, ARM64_MTE.
CPU_FEATURES_LINE = "CPU features: detected:"
FWB_LINE = "Stage-2 Force Write-Back"
DIC_LINE = "Instruction cache invalidation not required for I/D coherence"
MTE_LINE = "Memory Tagging Extension"


@dataclass(frozen=True, slots=True)
class Detection:
    policy: Policy
    version: KernelVersion | None
    reasons: tuple[str, ...]
    fwb: bool | None  # None: not known from the evidence
    mte: bool | None
    warnings: tuple[str, ...] = ()
    dic: bool | None = None

    def to_json(self) -> dict[str, Any]:
        return {"policy": self.policy.name, "version": str(self.version) if self.version else None,
                "fwb": self.fwb, "dic": self.dic, "mte": self.mte, "reasons": list(self.reasons),
                "warnings": list(self.warnings)}


def _rank(policy: Policy) -> int:
    upstream = [p for p in POLICIES if p.upstream]
    return upstream.index(policy)


def detect_policy(evidence: Evidence) -> Detection:
    """The upstream policy the evidence supports: the version's, raised by any backport marker."""
    reasons: list[str] = []
    warnings: list[str] = []
    version = KernelVersion.parse(evidence.release) if evidence.release else None
    if version is not None:
        policy = policy_for_version(version)
        reasons.append(f"kernel {evidence.release}: upstream {version} runs {policy.name}")
    else:
        policy = POLICIES[0]
        warnings.append("no kernel release collected: assuming the oldest policy, device-forced")
    for marker in MARKERS:
        hits = marker.found(evidence)
        if not hits:
            continue
        proved = policy_named(marker.proves)
        if _rank(proved) > _rank(policy):
            reasons.append(f"{marker.name} ({', '.join(hits)}) proves a backport of {proved.name}: {marker.source}")
            policy = proved
        else:
            reasons.append(f"{marker.name} ({', '.join(hits)}) agrees with {policy.name}")
    fwb = _capability(evidence, FWB_LINE)
    dic = _capability(evidence, DIC_LINE)
    mte = _capability(evidence, MTE_LINE)
    if fwb is None:
        warnings.append("FEAT_S2FWB unknown (no boot log with the CPU features line); pass --fwb/--no-fwb")
    return Detection(policy, version, tuple(reasons), fwb, mte, tuple(warnings), dic)


def _capability(evidence: Evidence, text: str) -> bool | None:
    if not evidence.boot_log:
        return None
    features_seen = any(CPU_FEATURES_LINE in line for line in evidence.boot_log)
    if any(CPU_FEATURES_LINE in line and text in line for line in evidence.boot_log):
        return True
    return False if features_seen else None
