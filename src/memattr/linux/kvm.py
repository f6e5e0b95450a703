"""KVM/arm64 stage-2 memory attributes: the encodings KVM writes and its policies, version by version.

A policy decides, for a guest fault on a page backed by a host VMA, which ``KVM_PGTABLE_PROT_*``
attribute the stage-2 entry gets; ``stage2_set_prot_attr()`` (arch/arm64/kvm/hyp/pgtable.c) turns
that into a MemAttr value, with or without FEAT_S2FWB.  Policies are named, versioned objects: the
ones upstream shipped, and the alternatives proposed in the December 2023 discussion as what-ifs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from memattr.errors import MemattrError, find_named
from memattr.linux.version import KernelVersion, v

# arch/arm64/include/asm/memory.h MT_S2_* (FWB=0) and MT_S2_FWB_* (FWB=1); MemAttr[3:0] values.
S2_ENCODINGS: dict[str, dict[bool, int]] = {
    # KVM_PGTABLE_PROT_* -> {fwb: MemAttr}
    "KVM_PGTABLE_PROT_NORMAL": {False: 0xF, True: 0x6},  # MT_S2_NORMAL / MT_S2_FWB_NORMAL
    "KVM_PGTABLE_PROT_NORMAL_NC": {False: 0x5, True: 0x5},  # MT_S2_NORMAL_NC / MT_S2_FWB_NORMAL_NC (v6.9)
    "KVM_PGTABLE_PROT_DEVICE": {False: 0x1, True: 0x1},  # MT_S2_DEVICE_nGnRE / MT_S2_FWB_DEVICE_nGnRE
    "KVM_PGTABLE_S2_AS_S1": {False: 0xF, True: 0x7},  # MT_S2_AS_S1 / MT_S2_FWB_AS_S1 (v7.0, pKVM host only)
}
S2_ENCODING_SOURCE = (
    "arch/arm64/include/asm/memory.h MT_S2_NORMAL 0xf, MT_S2_NORMAL_NC 0x5 (v6.9), MT_S2_DEVICE_nGnRE 0x1, "
    "MT_S2_FWB_NORMAL 6, MT_S2_FWB_NORMAL_NC 5 (v6.9), MT_S2_FWB_DEVICE_nGnRE 1, and from v7.0 MT_S2_AS_S1 "
    "(= MT_S2_NORMAL) and MT_S2_FWB_AS_S1 7 (d4236f1ef270 'arm64: Add MT_S2{,_FWB}_AS_S1 encodings'); "
    "arch/arm64/kvm/hyp/pgtable.c stage2_set_prot_attr() with KVM_S2_MEMATTR()"
)
# The name KVM's stage-2 fault path used for the Device attribute, and where that path lived, by version.
# Before the generic page-table code, user_mem_abort() picked PAGE_S2_DEVICE (a pgprot with
# MT_S2_DEVICE_nGnRE) in virt/kvm/arm/mmu.c, shared with 32-bit ARM.
STAGE2_FAULT_PATH: tuple[tuple[KernelVersion, str, str, str], ...] = (
    (v("5.4"), "virt/kvm/arm/mmu.c user_mem_abort(): `if (device) mem_type = PAGE_S2_DEVICE`", "inferred",
     "the shared arm/arm64 KVM code lived in virt/kvm/arm until 32-bit KVM host support was removed (v5.7); "
     "the release of the move was not checked against a tag"),
    (v("5.7"), "arch/arm64/kvm/mmu.c user_mem_abort(): PAGE_S2_DEVICE", "inferred",
     "after the move out of virt/kvm/arm; release not checked against a tag"),
    (v("5.10"), "arch/arm64/kvm/mmu.c user_mem_abort(): `prot |= KVM_PGTABLE_PROT_DEVICE`, "
                "arch/arm64/kvm/hyp/pgtable.c stage2_set_prot_attr()", "inferred",
     "KVM_PGTABLE_PROT_DEVICE belongs to the generic stage-2 page-table code (kvm_pgtable.h, hyp/pgtable.c, "
     "Will Deacon's rewrite, believed to be in the v5.10 merge window; a review put it at about v5.11); read "
     "in later versions, its first release not checked against a tag"),
)
# KVM_PTE_LEAF_ATTR_LO_S2_SH_IS: stage2_set_prot_attr() writes Inner Shareable for every leaf type
# (arch/arm64/kvm/hyp/pgtable.c, confirmed in v6.x).  With LPA2 (52-bit PA, 4K/16K) bits 9:8 hold
# OA[51:50] and the shareability comes from VTCR_EL2.SH0 instead (inferred from the architecture,
# DDI0487 D8.3, the kernel code for it not checked).
S2_SHAREABILITY = "ISH"


@dataclass(frozen=True, slots=True)
class PkvmHostStage2:
    """How pKVM's host stage 2 maps host MMIO, by version."""

    since: KernelVersion
    prot: str
    memattr: dict[bool, int]  # fwb -> MemAttr[3:0]
    fwb_used: bool
    source: str


# pKVM (protected KVM, v5.13+: 'KVM: arm64: Wrap the host with a stage 2') puts the host kernel itself
# behind a stage 2.  Until v6.19 PKVM_HOST_MMIO_PROT is KVM_PGTABLE_PROT_RW (no KVM_PGTABLE_PROT_DEVICE)
# and the host stage 2 is built with KVM_PGTABLE_S2_NOFWB, so host MMIO is MT_S2_NORMAL (0b1111):
# stage 1 decides (Table D8-98, IMCQKW).  v7.0 maps it with KVM_PGTABLE_S2_AS_S1, which is MT_S2_FWB_AS_S1
# (0b0111, "use stage 1") when FWB is present: stage 1 still decides.  Non-protected guests fault through
# the same user_mem_abort() policy as without pKVM, so pKVM adds no guest policy of its own here.
PKVM_HOST_STAGE2: tuple[PkvmHostStage2, ...] = (
    PkvmHostStage2(v("5.13"), "PKVM_HOST_MMIO_PROT = KVM_PGTABLE_PROT_RW", {False: 0xF, True: 0xF}, False,
                   "arch/arm64/include/asm/kvm_pgtable.h PKVM_HOST_MMIO_PROT; arch/arm64/kvm/hyp/nvhe/mem_protect.c "
                   "host stage 2 built with KVM_PGTABLE_S2_NOFWB"),
    PkvmHostStage2(v("7.0"), "KVM_PGTABLE_S2_AS_S1", {False: 0xF, True: 0x7}, True,
                   "a373930ec940 'KVM: arm64: Switch pKVM host S2 over to KVM_PGTABLE_S2_AS_S1', 4f27fe82aa30 "
                   "'KVM: arm64: Kill KVM_PGTABLE_S2_NOFWB' (kvm-arm64/fwb-for-all); the 'KVM/arm64 updates for "
                   "7.0' pull: 'Allow pKVM's host stage-2 mappings to use the Force Write Back version of the "
                   "memory attributes by using the pass-through encoding'"),
)


def stage2_fault_path(version: KernelVersion) -> tuple[str, str, str]:
    """(citation, status, note) of the code that picks the stage-2 attribute at ``version``."""
    _, text, status, note = [row for row in STAGE2_FAULT_PATH if row[0] <= version][-1]
    return text, status, note


def pkvm_host_stage2(version: KernelVersion) -> PkvmHostStage2:
    return [row for row in PKVM_HOST_STAGE2 if row.since <= version][-1]


@dataclass(frozen=True, slots=True)
class Fault:
    """What KVM knows when it handles a stage-2 fault (user_mem_abort, arch/arm64/kvm/mmu.c)."""

    pfn_is_memory: bool  # pfn_is_map_memory(): the page is in the kernel's linear map (RAM)
    vma_flags: frozenset[str]  # VM_IO, VM_PFNMAP, VM_ALLOW_ANY_UNCACHED, ...
    vma_cacheable: bool  # the VMA's pgprot selects MT_NORMAL / MT_NORMAL_TAGGED
    vma_pgprot: str  # the mapping call that made the VMA's pgprot (pgprot_noncached, ...)
    fwb: bool  # ARM64_HAS_STAGE2_FWB
    cache_dic: bool = True  # ARM64_HAS_CACHE_DIC (CTR_EL0.DIC)
    region_is_pci: bool = True  # only the what-if that probes host resources can know this


@dataclass(frozen=True, slots=True)
class Decision:
    """The stage-2 outcome of a fault."""

    prot: str | None  # KVM_PGTABLE_PROT_* or None when KVM refuses to map
    memattr: int | None
    executable: bool
    reasons: tuple[str, ...]
    refused: str | None = None
    refused_at: str | None = None  # "memslot" (KVM_SET_USER_MEMORY_REGION fails) or "fault"


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    title: str
    since: KernelVersion | None  # None: a what-if that never shipped
    until: KernelVersion | None
    source: str
    rationale: str
    decide: Callable[[Fault], Decision] = field(repr=False, compare=False)
    status: str = "confirmed"  # or "inferred" (what-ifs are "proposal": they never shipped)

    @property
    def upstream(self) -> bool:
        return self.since is not None


def _decision(prot: str, fault: Fault, reasons: list[str], executable: bool = False) -> Decision:
    memattr = S2_ENCODINGS[prot][fault.fwb]
    reasons.append(
        f"stage2_set_prot_attr(): {prot} -> MemAttr {memattr:#06b} "
        f"({'MT_S2_FWB_' if fault.fwb else 'MT_S2_'}{prot.rsplit('PROT_', 1)[1].replace('DEVICE', 'DEVICE_nGnRE')})"
    )
    return Decision(prot, memattr, executable, tuple(reasons))


def _memory_page(fault: Fault, reasons: list[str]) -> Decision:
    reasons.append("pfn_is_map_memory(): the page is RAM in the linear map, so KVM maps it Normal cacheable")
    return _decision("KVM_PGTABLE_PROT_NORMAL", fault, reasons, executable=True)


def decide_device_forced(fault: Fault) -> Decision:
    reasons: list[str] = []
    if fault.pfn_is_memory:
        return _memory_page(fault, reasons)
    reasons.append("user_mem_abort(): kvm_is_device_pfn() is true (not in the linear map), so device = true "
                   "and KVM_PGTABLE_PROT_DEVICE is set whatever the VMA or the guest says; no execute permission")
    return _decision("KVM_PGTABLE_PROT_DEVICE", fault, reasons)


def decide_allow_any_uncached(fault: Fault) -> Decision:
    reasons: list[str] = []
    if fault.pfn_is_memory:
        return _memory_page(fault, reasons)
    if "VM_ALLOW_ANY_UNCACHED" in fault.vma_flags:
        reasons.append("user_mem_abort(): device memory and the VMA has VM_ALLOW_ANY_UNCACHED, so "
                       "KVM_PGTABLE_PROT_NORMAL_NC: the guest's stage 1 decides between Device-* and Normal-NC")
        return _decision("KVM_PGTABLE_PROT_NORMAL_NC", fault, reasons)
    reasons.append("user_mem_abort(): device memory (s2_force_noncacheable) without VM_ALLOW_ANY_UNCACHED, so "
                   "KVM_PGTABLE_PROT_DEVICE")
    return _decision("KVM_PGTABLE_PROT_DEVICE", fault, reasons)


def decide_cacheable_pfnmap(fault: Fault) -> Decision:
    """v6.17 user_mem_abort() and kvm_arch_prepare_memory_region() (arch/arm64/kvm/mmu.c)."""
    reasons: list[str] = []
    if fault.pfn_is_memory:
        return _memory_page(fault, reasons)
    if not {"VM_PFNMAP", "VM_MIXEDMAP"} & fault.vma_flags:
        # 216887f79d98: only PFNMAP/MIXEDMAP VMAs are checked; any other VMA is mapped as memory.
        reasons.append("user_mem_abort(): the VMA is neither VM_PFNMAP nor VM_MIXEDMAP, so KVM assumes the page "
                       "can be mapped cacheable (216887f79d98, v6.17)")
        return _decision("KVM_PGTABLE_PROT_NORMAL", fault, reasons, executable=fault.cache_dic)
    if fault.vma_cacheable:
        supported = fault.fwb and fault.cache_dic
        if supported:
            reasons.append("user_mem_abort(): a cacheable VM_PFNMAP/VM_MIXEDMAP VMA and kvm_supports_cacheable_pfnmap() "
                           "(ARM64_HAS_STAGE2_FWB and ARM64_HAS_CACHE_DIC): stage 2 maps it cacheable with no cache "
                           "maintenance; with CACHE_DIC the entry is executable (KVM_PGTABLE_PROT_X)")
            return _decision("KVM_PGTABLE_PROT_NORMAL", fault, reasons, executable=True)
        missing = " and ".join(name for name, present in (("FEAT_S2FWB", fault.fwb), ("CTR_EL0.DIC", fault.cache_dic))
                               if not present)
        if "VM_PFNMAP" in fault.vma_flags:
            reasons.append(f"kvm_arch_prepare_memory_region(): a cacheable VM_PFNMAP VMA without {missing} "
                           "(kvm_supports_cacheable_pfnmap() is false): KVM_SET_USER_MEMORY_REGION fails with "
                           "-EINVAL, so the VMM sees the refusal when it registers the memslot")
            reasons.append("user_mem_abort(): the same check again returns -EFAULT should a fault still reach it "
                           "(a VMA replaced after the memslot was created)")
            return Decision(None, None, False, tuple(reasons), refused_at="memslot",
                            refused=f"cacheable PFNMAP memory needs FEAT_S2FWB and CTR_EL0.DIC ({missing} absent): "
                                    "KVM_SET_USER_MEMORY_REGION returns -EINVAL")
        reasons.append(f"user_mem_abort(): a cacheable VM_MIXEDMAP VMA without {missing}: the fault returns -EFAULT "
                       "(kvm_arch_prepare_memory_region() checks only VM_PFNMAP)")
        return Decision(None, None, False, tuple(reasons), refused_at="fault",
                        refused=f"cacheable MIXEDMAP memory needs FEAT_S2FWB and CTR_EL0.DIC ({missing} absent): "
                                "the stage-2 fault returns -EFAULT")
    return decide_allow_any_uncached(fault)


def decide_whatif_pgprot_device(fault: Fault) -> Decision:
    reasons: list[str] = []
    if fault.pfn_is_memory:
        return _memory_page(fault, reasons)
    if fault.vma_pgprot == "pgprot_device":
        reasons.append("what-if: vfio-pci maps BARs with pgprot_device and KVM reads a Device-nGnRE VMA as "
                       "'may be Device-nGnRE or Normal-NC', so stage 2 is Normal-NC")
        return _decision("KVM_PGTABLE_PROT_NORMAL_NC", fault, reasons)
    reasons.append(f"what-if: the VMA uses {fault.vma_pgprot}, not pgprot_device, so stage 2 stays Device")
    return _decision("KVM_PGTABLE_PROT_DEVICE", fault, reasons)


def decide_whatif_probe_iomem(fault: Fault) -> Decision:
    reasons: list[str] = []
    if fault.pfn_is_memory:
        return _memory_page(fault, reasons)
    if fault.region_is_pci:
        reasons.append("what-if: KVM looks the PFN up in the host's iomem resources, finds a PCIe BAR and "
                       "allows Normal-NC")
        return _decision("KVM_PGTABLE_PROT_NORMAL_NC", fault, reasons)
    reasons.append("what-if: the PFN is not inside a PCIe host bridge window, so stage 2 stays Device")
    return _decision("KVM_PGTABLE_PROT_DEVICE", fault, reasons)


def decide_whatif_mimic_vma(fault: Fault) -> Decision:
    reasons: list[str] = []
    if fault.pfn_is_memory:
        return _memory_page(fault, reasons)
    if fault.vma_cacheable:
        if not fault.fwb:
            reasons.append("what-if: KVM mirrors a cacheable VMA, which without FEAT_S2FWB would need cache "
                           "maintenance through a kernel mapping KVM does not have: refused")
            return Decision(None, None, False, tuple(reasons), refused="mimicking a cacheable VMA needs FEAT_S2FWB")
        reasons.append("what-if: KVM mirrors the VMA's cacheable type at stage 2")
        return _decision("KVM_PGTABLE_PROT_NORMAL", fault, reasons)
    if fault.vma_pgprot == "pgprot_writecombine":
        reasons.append("what-if: KVM mirrors the VMA's Normal-NC type at stage 2")
        return _decision("KVM_PGTABLE_PROT_NORMAL_NC", fault, reasons)
    reasons.append("what-if: KVM mirrors the VMA's Device type at stage 2 (KVM can only express Device-nGnRE)")
    return _decision("KVM_PGTABLE_PROT_DEVICE", fault, reasons)


POLICIES: tuple[Policy, ...] = (
    Policy(
        "device-forced", "every non-memory PFN is Device-nGnRE at stage 2", v("5.4"), v("6.8"),
        "user_mem_abort() @ v5.4..v6.8 (virt/kvm/arm/mmu.c, then arch/arm64/kvm/mmu.c): a PFN that is not "
        "memory is a device (kvm_is_device_pfn()) and gets PAGE_S2_DEVICE, later KVM_PGTABLE_PROT_DEVICE",
        "KVM cannot tell a PCIe BAR that tolerates speculation and gathering from a platform register block "
        "that does not, so it forces the strongest type it uses everywhere: any page outside the kernel's "
        "linear map is Device-nGnRE, and because Device wins over Normal in the stage-1/stage-2 combination "
        "(DDI0487 Table D8-97) a guest's ioremap_wc of a GPU or NIC BAR silently loses write-combining.",
        decide_device_forced,
    ),
    Policy(
        "allow-any-uncached", "VM_ALLOW_ANY_UNCACHED VMAs are Normal-NC at stage 2", v("6.9"), v("6.16"),
        "v6.9 (kvmarm topic branch kvm-arm64/vfio-normal-nc, Ankit Agrawal): c034ec84e879 'KVM: arm64: Introduce "
        "new flag for non-cacheable IO memory' (KVM_PGTABLE_PROT_NORMAL_NC), 5c656fcdd6c6 'mm: Introduce new flag "
        "to indicate wc safe' (VM_ALLOW_ANY_UNCACHED, include/linux/mm.h), 8c47ce3e1d2c 'KVM: arm64: Set io memory "
        "s2 pte as normalnc for vfio pci device', a39d3a966a09 'vfio: Convey kvm that the vfio-pci device is wc "
        "safe'; arch/arm64/kvm/mmu.c user_mem_abort()",
        "The driver that creates the VMA knows whether its device tolerates Normal-NC: vfio-pci asserts that "
        "PCIe BARs do (speculative reads and gathering cannot cause uncontained failures on PCIe), so it sets "
        "VM_ALLOW_ANY_UNCACHED and KVM maps those pages Normal-NC at stage 2.  The guest's own stage-1 choice "
        "then decides (Device-* stays Device, ioremap_wc becomes Normal-NC).  vfio-platform does not set the "
        "flag, so platform MMIO stays Device-nGnRE.",
        decide_allow_any_uncached,
    ),
    Policy(
        "cacheable-pfnmap", "cacheable PFNMAP VMAs are cacheable at stage 2 when FWB and DIC are present",
        v("6.17"), None,
        "v6.17 (tags/kvmarm-6.17, branch kvm-arm64/cacheable-pfnmap, merge c535d132a30f, Ankit Agrawal): "
        "8cc9dc1ae4fb 'KVM: arm64: Rename the device variable to s2_force_noncacheable', 216887f79d98 'KVM: "
        "arm64: Assume non-PFNMAP/MIXEDMAP VMAs can be mapped cacheable', 2a8dfab26677 'KVM: arm64: Block "
        "cacheable PFNMAP mapping', 0c67288e0c8b 'KVM: arm64: Allow cacheable stage 2 mapping using VMA flags', "
        "f55ce5a6cd33 'KVM: arm64: Expose new KVM cap for cacheable PFNMAP'; arch/arm64/kvm/mmu.c "
        "kvm_arch_prepare_memory_region() (-EINVAL) and user_mem_abort() (s2_force_noncacheable, "
        "kvm_vma_is_cacheable(), kvm_supports_cacheable_pfnmap() = FWB && CACHE_DIC, -EFAULT)",
        "Coherent device memory (the nvgrace-gpu class: GPU memory reached over a cache-coherent link) is "
        "mapped cacheable by the VMM.  Mapping it Normal-NC at stage 2 would leave a cacheable alias over a "
        "non-cacheable guest view, so stale data in the caches could be read or written back.  With FEAT_S2FWB "
        "and CTR_EL0.DIC KVM needs no cache maintenance and maps the page cacheable (and executable) at stage "
        "2; without them it refuses the memslot (-EINVAL) and, as a second check, the fault (-EFAULT).  Only "
        "VM_PFNMAP/VM_MIXEDMAP VMAs whose PFNs lie outside the linear map are forced non-cacheable, and only "
        "when the VMA itself is non-cacheable.",
        decide_cacheable_pfnmap,
    ),
    Policy(
        "whatif-pgprot-device", "what-if: vfio-pci uses pgprot_device, KVM reads Device-nGnRE as 'may be NC'",
        None, None, "Dec 2023 discussion of 'KVM: arm64: allow the VM to select DEVICE_* and NORMAL_NC for IO memory'",
        "Instead of a new VMA flag, vfio-pci would map BARs with pgprot_device (Device-nGnRE) and KVM would "
        "take a Device-nGnRE VMA as permission for Normal-NC.  It overloads a memory type with a meaning it "
        "does not have: any other driver's pgprot_device mapping (including platform devices) would also "
        "become Normal-NC in guests.",
        decide_whatif_pgprot_device, status="proposal",
    ),
    Policy(
        "whatif-probe-iomem", "what-if: KVM allows Normal-NC for PFNs inside host PCIe resources",
        None, None, "Dec 2023 discussion (KVM probing the host's iomem resources for PCIe ranges)",
        "KVM would look each faulting PFN up in the host's resource tree and allow Normal-NC only inside a PCIe "
        "BAR.  It needs no VMA flag, but puts PCI knowledge and a resource walk into the stage-2 fault path and "
        "cannot tell a BAR's register block from its memory.",
        decide_whatif_probe_iomem, status="proposal",
    ),
    Policy(
        "whatif-mimic-vma", "what-if: KVM mirrors the VMA's memory type at stage 2",
        None, None, "Dec 2023 discussion (vfio allowing Normal mappings, KVM mimicking them)",
        "KVM would give stage 2 the memory type of the VMM's own mapping, so host and guest aliases always "
        "agree.  Cacheable VMAs then need FEAT_S2FWB (KVM has no kernel alias for cache maintenance), which "
        "is what upstream later adopted for cacheable PFNMAP memory.",
        decide_whatif_mimic_vma, status="proposal",
    ),
)

POLICY_NAMES = tuple(p.name for p in POLICIES)


def policy_named(name: str) -> Policy:
    return find_named(POLICIES, name, "policy")  # type: ignore[no-any-return]


def policy_for_version(version: KernelVersion) -> Policy:
    from memattr.linux.layout import check_version

    check_version(version)
    for policy in POLICIES:
        if policy.since is not None and policy.since <= version and (policy.until is None or version <= policy.until):
            return policy
    raise AssertionError(f"no upstream policy covers {version}")
