"""The mapping chain of one physical page: host aliases, the VMM's mapping, stage 2 and the guest.

``trace()`` follows a region of a given kind through the driver that exposes it to the VMM, KVM's
stage-2 policy and the guest driver's mapping call, and combines the guest's stage 1 with stage 2
through :func:`memattr.arch.combine.combine`.  Every alias of the page is listed with its effective
memory type so that mismatches are visible.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from memattr.arch.combine import Controls, attributes_json, combine
from memattr.arch.memtypes import MemoryAttributes, MemoryType, Normal
from memattr.arch.properties import properties_of
from memattr.errors import MemattrError, find_named
from memattr.linux.kvm import S2_SHAREABILITY, Fault, Policy, policy_for_version, policy_named, stage2_fault_path
from memattr.linux.layout import mair_el1, mapping_call, mt_memtype
from memattr.linux.version import KernelVersion, v


@dataclass(frozen=True, slots=True)
class RegionKind:
    name: str
    title: str
    pci: bool
    prefetchable: bool
    read_side_effects: bool  # may hold registers whose reads have side effects
    system_ram: bool
    driver: str  # the host driver that hands it to the VMM


@dataclass(frozen=True, slots=True)
class VmmDriver:
    """How a host driver exposes a region to the VMM through mmap: pgprot and VMA flags.

    ``since`` is None for a driver that exists only as a posted patch series (``status`` "proposal"):
    it is traced only when the caller asks for proposals.  ``sources`` cites the code per version,
    since files and functions moved.
    """

    name: str
    pgprot: str
    flags: tuple[tuple[str, KernelVersion | None], ...]  # (flag, kernel version that started setting it)
    host_alias: str | None  # the host kernel's own mapping of the region, if the driver makes one
    host_alias_when: str
    since: KernelVersion | None
    sources: tuple[tuple[KernelVersion, str], ...]
    status: str = "confirmed"
    note: str = ""

    def source_at(self, version: KernelVersion) -> str:
        rows = [text for since, text in self.sources if since <= version] or [self.sources[0][1]]
        return rows[-1]

    @property
    def source(self) -> str:
        return self.sources[-1][1]


VM_BASE = ("VM_IO", "VM_PFNMAP", "VM_DONTEXPAND", "VM_DONTDUMP")

DRIVERS: tuple[VmmDriver, ...] = (
    VmmDriver(
        "vfio-pci", "pgprot_noncached",
        tuple((flag, v("5.4")) for flag in VM_BASE) + (("VM_ALLOW_ANY_UNCACHED", v("6.9")),),
        "ioremap", "only when the VMM uses read()/write() on the region (vfio_pci_core_setup_barmap -> pci_iomap)",
        v("5.4"),
        ((v("5.4"), "drivers/vfio/pci/vfio_pci.c vfio_pci_mmap(): pgprot_noncached(vma->vm_page_prot), "
                    "VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP"),
         (v("5.15"), "drivers/vfio/pci/vfio_pci_core.c vfio_pci_core_mmap() (the vfio_pci_core.c split, "
                     "ff53edf6d6ab, v5.15): pgprot_noncached, VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP"),
         (v("6.9"), "drivers/vfio/pci/vfio_pci_core.c vfio_pci_core_mmap(): pgprot_noncached, "
                    "vm_flags_set(VM_ALLOW_ANY_UNCACHED | VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP) "
                    "(a39d3a966a09 'vfio: Convey kvm that the vfio-pci device is wc safe', v6.9)")),
    ),
    VmmDriver(
        "vfio-platform", "pgprot_noncached", tuple((flag, v("5.4")) for flag in VM_BASE),
        "ioremap", "only when the VMM uses read()/write() on the region (vfio_platform_regions_init ioremap)",
        v("5.4"),
        ((v("5.4"), "drivers/vfio/platform/vfio_platform_common.c vfio_platform_mmap_mmio(): pgprot_noncached; "
                    "it never sets VM_ALLOW_ANY_UNCACHED"),),
        status="inferred", note="read in v6.x; the 'never sets VM_ALLOW_ANY_UNCACHED' part follows from "
                                "a39d3a966a09 touching only vfio_pci_core_mmap()",
    ),
    VmmDriver(
        "nvgrace-gpu-usemem", "pgprot_cached",
        tuple((flag, v("6.9")) for flag in VM_BASE),
        "memremap_wb", "only when the VMM uses read()/write() (nvgrace_gpu_map_device_mem(): memremap MEMREMAP_WB)",
        v("6.9"),
        ((v("6.9"), "drivers/vfio/pci/nvgrace-gpu/main.c nvgrace_gpu_mmap() (701ab935859f 'vfio/nvgrace-gpu: Add "
                    "vfio pci variant module for grace hopper', v6.9): the usemem region (BAR4) keeps the VMA's "
                    "default cacheable vm_page_prot and gets no VM_ALLOW_ANY_UNCACHED (81617c17bf58 sets that flag "
                    "for resmem only); remap_pfn_range() adds VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP"),),
    ),
    VmmDriver(
        "nvgrace-gpu-resmem", "pgprot_writecombine",
        tuple((flag, v("6.9")) for flag in VM_BASE) + (("VM_ALLOW_ANY_UNCACHED", v("6.9")),),
        "ioremap_wc", "only when the VMM uses read()/write() (nvgrace_gpu_map_device_mem(): ioremap_wc)",
        v("6.9"),
        ((v("6.9"), "drivers/vfio/pci/nvgrace-gpu/main.c nvgrace_gpu_mmap(): the resmem region (BAR2) is "
                    "pgprot_writecombine with VM_ALLOW_ANY_UNCACHED (81617c17bf58 'vfio/nvgrace-gpu: Convey kvm "
                    "to map device memory region as noncached', v6.9)"),),
    ),
    VmmDriver(
        "sysfs-resource", "pgprot_device", tuple((flag, v("5.4")) for flag in ("VM_IO", "VM_PFNMAP")),
        None, "", v("5.4"),
        ((v("5.4"), "drivers/pci/pci-sysfs.c pci_mmap_resource_uc() -> drivers/pci/mmap.c "
                    "pci_mmap_resource_range(write_combine=0): pgprot_device"),),
        status="inferred", note="pci_mmap_resource_range() read in v6.x drivers/pci/mmap.c; that file dates from "
                                "v4.12 ('PCI: Add pci_mmap_resource_range() and use it for ARM64'), not checked "
                                "against a tag",
    ),
    VmmDriver(
        "sysfs-resource-wc", "pgprot_writecombine", tuple((flag, v("5.4")) for flag in ("VM_IO", "VM_PFNMAP")),
        None, "", v("5.4"),
        ((v("5.4"), "drivers/pci/pci-sysfs.c pci_create_resource_files(): resourceN_wc exists only when "
                    "arch_can_pci_mmap_wc() and the BAR is IORESOURCE_PREFETCH; pci_mmap_resource_wc() -> "
                    "drivers/pci/mmap.c pci_mmap_resource_range(write_combine=1): pgprot_writecombine"),),
    ),
    VmmDriver(
        "vfio-pci-dmabuf", "pgprot_noncached",
        tuple((flag, None) for flag in ("VM_ALLOW_ANY_UNCACHED",) + VM_BASE),
        None, "", None,
        ((v("7.0"), "proposed: '[PATCH v3 7/9] vfio/pci: Support mmap() of a VFIO DMABUF' (Matt Evans, "
                    "2026-06-10), vfio_pci_dma_buf_mmap(): pgprot_noncached, VM_ALLOW_ANY_UNCACHED | VM_IO | "
                    "VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP; the dma-buf export itself (5d74781ebc86 'vfio/pci: "
                    "Add dma-buf export support for MMIO regions') is mainline without an mmap"),),
        status="proposal", note="not merged in any release found (as of 2026-11)",
    ),
    VmmDriver(
        "vfio-pci-dmabuf-wc", "pgprot_writecombine",
        tuple((flag, None) for flag in ("VM_ALLOW_ANY_UNCACHED",) + VM_BASE),
        None, "", None,
        ((v("7.0"), "proposed: '[RFC PATCH 6/7] vfio/pci: Add mmap() attributes to DMABUF feature' (Matt Evans, "
                    "2026-02-26): VFIO_DEVICE_FEATURE_DMA_BUF_ATTR_WC makes vfio_pci_dma_buf_mmap() use "
                    "pgprot_writecombine (still VM_ALLOW_ANY_UNCACHED)"),),
        status="proposal", note="an RFC, not merged in any release found (as of 2026-11)",
    ),
)

REGION_KINDS: tuple[RegionKind, ...] = (
    RegionKind("pci-bar-prefetchable", "PCIe memory BAR, prefetchable", True, True, False, False, "vfio-pci"),
    RegionKind("pci-bar-non-prefetchable", "PCIe memory BAR, non-prefetchable (registers)", True, False, True, False,
               "vfio-pci"),
    # An SR-IOV VF is passed through with vfio-pci like any function; its BARs are slices of the PF's VF BAR.
    RegionKind("sriov-vf-bar-prefetchable", "SR-IOV VF memory BAR, prefetchable", True, True, False, False,
               "vfio-pci"),
    RegionKind("sriov-vf-bar-non-prefetchable", "SR-IOV VF memory BAR, non-prefetchable (registers)", True, False,
               True, False, "vfio-pci"),
    RegionKind("platform-mmio", "platform (non-PCIe) MMIO, e.g. a device-tree node", False, False, True, False,
               "vfio-platform"),
    RegionKind("coherent-device-memory", "cache-coherent device memory (nvgrace-gpu usemem class)", True, True,
               False, False, "nvgrace-gpu-usemem"),
    RegionKind("device-reserved-memory", "device memory the driver maps write-combining (nvgrace-gpu resmem class)",
               True, True, False, False, "nvgrace-gpu-resmem"),
    RegionKind("dma-buf", "a PCIe BAR slice exported as a vfio dma-buf and mmapped (proposed)", True, True, False,
               False, "vfio-pci-dmabuf"),
    RegionKind("ram", "ordinary RAM (guest memory)", False, False, False, True, "anonymous"),
)

REGION_NAMES = tuple(kind.name for kind in REGION_KINDS)
GUEST_CALLS = ("ioremap", "ioremap_wc", "ioremap_np", "ioremap_cache", "memremap_wb", "memremap_wc")
DRIVER_NAMES = tuple(driver.name for driver in DRIVERS)


def region_kind(name: str) -> RegionKind:
    return find_named(REGION_KINDS, name, "region kind")  # type: ignore[no-any-return]


def driver_named(name: str) -> VmmDriver:
    return find_named(DRIVERS, name, "VMM driver")  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class Alias:
    """One virtual mapping of the page and the memory type its accesses get."""

    who: str
    how: str
    memory_type: str
    memtype: MemoryType | None
    source: str
    condition: str = ""

    def to_json(self) -> dict[str, Any]:
        data = {"who": self.who, "how": self.how, "memory_type": self.memory_type, "source": self.source}
        if self.condition:
            data["condition"] = self.condition
        return data


HAZARD_KINDS = ("refused", "speculative-read", "mismatched-aliases", "mismatched-device-types",
                "lost-write-combining")


@dataclass(frozen=True, slots=True)
class Hazard:
    """A hazard of the chain, decided here once; the audit's rules turn hazards into findings."""

    kind: str  # one of HAZARD_KINDS
    text: str
    aliases: tuple[Alias, ...] = ()  # the aliases involved, for the mismatched-* kinds

    def __post_init__(self) -> None:
        assert self.kind in HAZARD_KINDS, self.kind

    def __str__(self) -> str:
        return f"{self.kind}: {self.text}"


@dataclass(frozen=True, slots=True)
class Stage2Entry:
    """What KVM's stage-2 fault handler installs for the region, or why it refuses to map it."""

    prot: str | None = None
    memattr: int | None = None  # the stage-2 descriptor's MemAttr field
    meaning: str | None = None  # the MemAttr value decoded (memattr.arch.stage2)
    memory_type: str | None = None  # the stage-2 value's own memory type (stage2_memory_type)
    executable: bool = False
    shareability: str | None = None
    refused: str | None = None
    refused_at: str | None = None

    def to_json(self) -> dict[str, Any]:
        if self.memattr is None:
            return {"prot": None, "memattr": None, "memory_type": None, "refused": self.refused,
                    "refused_at": self.refused_at}
        return {"prot": self.prot, "memattr": f"{self.memattr:#06b}", "meaning": self.meaning,
                "memory_type": self.memory_type, "executable": self.executable, "shareability": self.shareability}


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the guest's accesses get: the stage-1 + stage-2 combination's result with the properties that
    matter to a driver, or KVM's refusal.  ``depends_on_fwb`` holds (without, with) when FEAT_S2FWB is unknown and
    the two differ (set by the audit)."""

    attributes: MemoryAttributes | None = None  # the combination's result (Linux's inputs are all allocated)
    refused: str | None = None
    executable: bool = False
    faults: tuple[tuple[str, str], ...] = ()  # memattr.arch.properties values a guest's code can trip on
    speculative_reads: str | None = None
    depends_on_fwb: tuple[str, str] | None = None

    @property
    def memory_type(self) -> str | None:
        return self.attributes.short_name if self.attributes is not None else None

    def to_json(self) -> dict[str, Any]:
        if self.attributes is None:
            data: dict[str, Any] = {"memory_type": None, "refused": self.refused}
        else:
            data = attributes_json(self.attributes)
            data["executable"] = self.executable
            data["faults"] = dict(self.faults)
            data["speculative_reads"] = self.speculative_reads
        if self.depends_on_fwb is not None:
            data["depends_on_fwb"] = {"without": self.depends_on_fwb[0], "with": self.depends_on_fwb[1]}
        return data


@dataclass(frozen=True, slots=True)
class Trace:
    kernel: KernelVersion
    policy: Policy
    region: RegionKind
    guest_call: str
    fwb: bool
    dic: bool
    vma_flags: tuple[str, ...]
    vma_pgprot: str
    stage2: Stage2Entry
    effective: Outcome
    aliases: tuple[Alias, ...]
    explanation: tuple[dict[str, str], ...]
    hazards: tuple[Hazard, ...]
    guest_memtype: MemoryType | None = None  # what the guest's accesses get (None when KVM refuses)

    def to_json(self) -> dict[str, Any]:
        return {
            "kernel": str(self.kernel),
            "policy": self.policy.name,
            "policy_source": self.policy.source,
            "region": self.region.name,
            "guest": self.guest_call,
            "fwb": self.fwb,
            "dic": self.dic,
            "vma": {"pgprot": self.vma_pgprot, "flags": list(self.vma_flags)},
            "stage2": self.stage2.to_json(),
            "effective": self.effective.to_json(),
            "aliases": [alias.to_json() for alias in self.aliases],
            "hazards": [str(hazard) for hazard in self.hazards],
            "explanation": list(self.explanation),
        }


def _host_memtype(call: str, kernel: KernelVersion) -> tuple[MemoryType, str]:
    mapping = mapping_call(call, kernel)
    _, byte, memtype = mt_memtype(kernel, mapping.mt)
    return memtype, f"{mapping.source}; {mapping.mt} = MAIR {byte:#04x}"


@lru_cache(maxsize=4096)
def trace(
    *,
    region: str,
    guest_call: str,
    fwb: bool,
    kernel: KernelVersion | None = None,
    policy: str | None = None,
    guest_kernel: KernelVersion | None = None,
    driver: str | None = None,
    dic: bool = True,
    proposed: bool = False,
) -> Trace:
    """Follow a page of ``region`` through its driver, KVM's stage 2 and the guest's ``guest_call``.

    A pure function of its arguments, so results are cached: callers must not mutate the returned
    trace's dictionaries (the audit and the CLI only read them).
    """
    kind = region_kind(region)
    if kernel is None:
        kernel = v("6.9") if policy is None else None  # type: ignore[assignment]
    chosen = policy_named(policy) if policy else policy_for_version(kernel)  # type: ignore[arg-type]
    host_kernel = kernel or (chosen.since or v("6.9"))
    guest_kernel = guest_kernel or host_kernel
    if guest_call not in GUEST_CALLS:
        raise MemattrError(f"unknown guest call {guest_call!r}", expected=f"one of {', '.join(GUEST_CALLS)}")
    explanation: list[dict[str, str]] = []

    def explain(rule: str, source: str, text: str) -> None:
        explanation.append({"rule": rule, "source": source, "text": text})

    explain("policy", chosen.source,
            f"KVM stage-2 policy {chosen.name}: {chosen.title}"
            + (f" (kernel {kernel})" if kernel else " (chosen by name)"))
    aliases: list[Alias] = []
    vma_flags: tuple[str, ...] = ()
    vma_pgprot = "anonymous"
    if kind.system_ram:
        fault = Fault(pfn_is_memory=True, vma_flags=frozenset(), vma_cacheable=True, vma_pgprot="pgprot_cached",
                      fwb=fwb, cache_dic=dic, region_is_pci=False)
        aliases.append(Alias("host kernel", "linear map", "Normal-iWB-oWB",
                             mt_memtype(host_kernel, "MT_NORMAL")[2], "arch/arm64/mm/mmu.c map_mem()"))
        aliases.append(Alias("VMM", "anonymous guest memory", "Normal-iWB-oWB",
                             mt_memtype(host_kernel, "MT_NORMAL")[2], "mm/mmap.c default vm_page_prot"))
    else:
        vmm = driver_named(driver or kind.driver)
        # A distribution kernel found to run a newer policy (a backport) carries that change's driver side too.
        driver_kernel = max(host_kernel, chosen.since) if chosen.since else host_kernel
        if vmm.since is None:
            if not proposed:
                raise MemattrError(f"{vmm.name} exists only as a posted patch series ({vmm.note})",
                                   expected="--proposed to trace unmerged proposals")
            if driver_kernel < v("6.9"):
                raise MemattrError(f"{vmm.name} relies on VM_ALLOW_ANY_UNCACHED (v6.9)",
                                   expected="--kernel 6.9 or later")
        elif driver_kernel < vmm.since:
            raise MemattrError(f"{vmm.name} does not exist before kernel {vmm.since} (asked for {driver_kernel})",
                               expected=f"--kernel {vmm.since} or later")
        vma_flags = tuple(flag for flag, since in vmm.flags if since is None or since <= driver_kernel)
        vmm_cite = vmm.source_at(driver_kernel)
        vma_pgprot = vmm.pgprot
        vmm_type, vmm_source = _host_memtype(vmm.pgprot, host_kernel)
        if vmm.host_alias:
            host_type, host_source = _host_memtype(vmm.host_alias, host_kernel)
            aliases.append(Alias(f"host kernel ({vmm.name})", vmm.host_alias, host_type.short_name, host_type,
                                 host_source, vmm.host_alias_when))
        aliases.append(Alias(f"VMM (mmap of {vmm.name})", vmm.pgprot, vmm_type.short_name, vmm_type,
                             f"{vmm_cite}; {vmm_source}"))
        explain("vmm-mapping", vmm_cite,
                f"{vmm.name} maps the region into the VMM with {vmm.pgprot} ({vmm_type.short_name}), VMA flags "
                f"{' | '.join(vma_flags)}")
        fault = Fault(pfn_is_memory=False, vma_flags=frozenset(vma_flags),
                      vma_cacheable=vmm.pgprot == "pgprot_cached", vma_pgprot=vmm.pgprot, fwb=fwb, cache_dic=dic,
                      region_is_pci=kind.pci)
    decision = chosen.decide(fault)
    if chosen.upstream:
        path, path_status, _ = stage2_fault_path(host_kernel)
        explain("stage2-code", path, f"in kernel {host_kernel} the stage-2 attribute is chosen in {path.split(':')[0]}"
                                     + ("" if path_status == "confirmed" else f" ({path_status})"))
    for reason in decision.reasons:
        explain("stage2", chosen.source, reason)
    guest_mapping = mapping_call(guest_call, guest_kernel)
    attr_index, s1_byte, guest_s1 = mt_memtype(guest_kernel, guest_mapping.mt)
    explain("guest-stage1", guest_mapping.source,
            f"the guest (kernel {guest_kernel}, MAIR_EL1 {mair_el1(guest_kernel):#018x}) maps the region with "
            f"{guest_call}: {guest_mapping.mt} = AttrIndx {attr_index}, MAIR byte {s1_byte:#04x} "
            f"({guest_s1.short_name})")
    hazards: list[Hazard] = []
    memtype: MemoryType | None = None
    if decision.refused:
        stage2 = Stage2Entry(refused=decision.refused, refused_at=decision.refused_at)
        effective = Outcome(refused=decision.refused)
        hazards.append(Hazard("refused", decision.refused))
    else:
        assert decision.memattr is not None
        from memattr.arch.stage2 import decode_s2_memattr

        stage2 = Stage2Entry(prot=decision.prot, memattr=decision.memattr,
                             meaning=decode_s2_memattr(decision.memattr, fwb=fwb).describe(),
                             memory_type=stage2_memory_type(decision.memattr, fwb), executable=decision.executable,
                             shareability=S2_SHAREABILITY)
        result = combine(s1_byte, decision.memattr, controls=Controls(fwb=fwb))
        for step in result.explanation:
            explain(step.rule, step.source, step.text + (f" -> {step.result}" if step.result else ""))
        memtype = result.result.memtype  # type: ignore[union-attr]
        props = properties_of(memtype)
        assert isinstance(result.result, MemoryAttributes), "Linux's MAIR bytes and stage-2 values are allocated"
        effective = Outcome(result.result, executable=decision.executable,
                            faults=tuple((key, props.value(key))
                                         for key in ("unaligned_access", "exclusives", "atomics", "dc_zva")),
                            speculative_reads=props.value("speculative_data_reads"))
        aliases.append(Alias("guest", f"{guest_call} (stage 1 {s1_byte:#04x}) + stage 2 {decision.memattr:#06b}",
                             memtype.short_name, memtype, "memattr.arch.combine"))
        hazards += _hazards(kind, memtype, aliases, guest_call)
    return Trace(host_kernel, chosen, kind, guest_call, fwb, dic, vma_flags, vma_pgprot, stage2, effective,
                 tuple(aliases), tuple(explanation), tuple(hazards), memtype)


def stage2_memory_type(memattr: int, fwb: bool) -> str:
    """The stage-2 encoding's own memory type, in canonical names (FWB instructions described)."""
    from memattr.arch.stage2 import S2Device, S2FwbNonCacheable, S2FwbStage1, S2FwbWriteBack, S2Normal, decode_s2_memattr

    attr = decode_s2_memattr(memattr, fwb=fwb).attr
    if isinstance(attr, S2Device):
        return f"Device-{attr.kind.value}"
    if isinstance(attr, S2Normal):
        return f"Normal-i{attr.inner.value}-o{attr.outer.value}"
    if isinstance(attr, S2FwbNonCacheable):
        return "Normal-iNC-oNC"
    if isinstance(attr, S2FwbWriteBack):
        return "Normal-iWB-oWB"
    if isinstance(attr, S2FwbStage1):
        return "as stage 1"
    return "UNPREDICTABLE"


def _hazards(kind: RegionKind, guest: MemoryType, aliases: list[Alias], guest_call: str) -> list[Hazard]:
    hazards = []
    if isinstance(guest, Normal) and kind.read_side_effects:
        hazards.append(Hazard("speculative-read", f"the guest's {guest.short_name} permits speculative reads and "
                                                  f"gathering on a {kind.title} (B2.10.1, K1.1.17)"))
    typed = [alias for alias in aliases if alias.memtype is not None]
    if len({alias.memory_type for alias in typed}) > 1:
        kinds = {("Device" if alias.memtype.is_device else  # type: ignore[union-attr]
                  "Normal-NC" if alias.memtype.non_cacheable else "Normal-cacheable") for alias in typed}  # type: ignore[union-attr]
        listing = ", ".join(f"{a.who}={a.memory_type}" for a in aliases)
        if len(kinds) == 1:
            # Only the Device G/R/E attributes differ: no coherency loss, but ordering differs per alias.
            hazards.append(Hazard("mismatched-device-types", f"{listing} (B2.11 Mismatched memory attributes)",
                                  tuple(aliases)))
        else:
            what = "cacheable vs non-cacheable" if "Normal-cacheable" in kinds else "Device vs Normal"
            hazards.append(Hazard("mismatched-aliases", f"{what}: {listing} (B2.11 Mismatched memory attributes)",
                                  tuple(aliases)))
    if guest_call in ("ioremap_wc", "memremap_wc") and guest.is_device:
        hazards.append(Hazard("lost-write-combining",
                              f"the guest asked for write-combining but gets {guest.short_name}"))
    return hazards
