"""The Linux model's acceptance cases, each with the kernel source that decides it."""

from __future__ import annotations

import pytest

from memattr.errors import MemattrError
from memattr.linux.chain import trace
from memattr.linux.kvm import POLICIES, policy_for_version
from memattr.linux.layout import mair_el1, mt_memtype
from memattr.linux.version import KernelVersion, v


def effective(kernel: str, region: str, guest: str, fwb: bool = False) -> str | None:
    return trace(kernel=v(kernel), region=region, guest_call=guest, fwb=fwb).effective.memory_type


def test_guest_ioremap_wc_on_vfio_pci_bar_before_and_after_the_flag():
    # user_mem_abort() @ v6.6 forces KVM_PGTABLE_PROT_DEVICE; @ v6.9 VM_ALLOW_ANY_UNCACHED gives NORMAL_NC.
    assert effective("6.6", "pci-bar-prefetchable", "ioremap_wc") == "Device-nGnRE"
    assert effective("6.9", "pci-bar-prefetchable", "ioremap_wc") == "Normal-iNC-oNC"


@pytest.mark.parametrize("kernel", ["6.6", "6.9", "6.17"])
def test_guest_ioremap_stays_device_ngnre(kernel):
    assert effective(kernel, "pci-bar-prefetchable", "ioremap") == "Device-nGnRE"
    assert effective(kernel, "pci-bar-non-prefetchable", "ioremap") == "Device-nGnRE"


def test_guest_ioremap_np_is_ngnrne_under_the_flag_policy():
    assert effective("6.9", "pci-bar-prefetchable", "ioremap_np") == "Device-nGnRnE"


def test_platform_mmio_never_gets_normal_nc():
    # vfio-platform's mmap does not set VM_ALLOW_ANY_UNCACHED.
    for kernel in ("6.6", "6.9", "6.17"):
        assert effective(kernel, "platform-mmio", "ioremap_wc") == "Device-nGnRE"


def test_cacheable_policy_without_fwb_refuses():
    result = trace(kernel=v("6.17"), region="coherent-device-memory", guest_call="memremap_wb", fwb=False)
    assert result.effective.memory_type is None and result.effective.refused
    assert result.stage2.memattr is None


def test_cacheable_policy_with_fwb_maps_write_back():
    result = trace(kernel=v("6.17"), region="coherent-device-memory", guest_call="memremap_wb", fwb=True)
    assert result.stage2.memattr == 0b0110  # MT_S2_FWB_NORMAL
    assert result.effective.memory_type == "Normal-iWB-oWB"
    assert not [h for h in result.hazards if str(h).startswith("mismatched-aliases")]


def test_coherent_memory_before_cacheable_policy_is_a_mismatched_alias():
    # Before v6.17 the cacheable usemem VMA met a non-cacheable stage 2: the stale-data hazard.
    result = trace(kernel=v("6.10"), region="coherent-device-memory", guest_call="memremap_wb", fwb=True)
    assert result.effective.memory_type != "Normal-iWB-oWB"
    assert any(str(h).startswith("mismatched-aliases: cacheable vs non-cacheable") for h in result.hazards)


def test_vmm_alias_is_ngnrne_while_guest_is_normal_nc():
    # vfio_pci_core_mmap() uses pgprot_noncached: the VMM's alias is Device-nGnRnE.
    result = trace(kernel=v("6.9"), region="pci-bar-prefetchable", guest_call="ioremap_wc", fwb=False)
    types = {alias.who: alias.memory_type for alias in result.aliases}
    assert types["VMM (mmap of vfio-pci)"] == "Device-nGnRnE" and types["guest"] == "Normal-iNC-oNC"
    assert any(str(h).startswith("mismatched-aliases: Device vs Normal") for h in result.hazards)


def test_speculation_hazard_on_register_bars():
    result = trace(kernel=v("6.9"), region="pci-bar-non-prefetchable", guest_call="ioremap_wc", fwb=False)
    assert any(str(h).startswith("speculative-read") for h in result.hazards)


def test_sysfs_resource_wc_and_resource():
    result = trace(kernel=v("6.9"), region="pci-bar-prefetchable", guest_call="ioremap_wc", fwb=False,
                   driver="sysfs-resource-wc")
    assert result.vma_pgprot == "pgprot_writecombine"
    result = trace(kernel=v("6.9"), region="pci-bar-prefetchable", guest_call="ioremap", fwb=False,
                   driver="sysfs-resource")
    assert [a.memory_type for a in result.aliases if a.who.startswith("VMM")] == ["Device-nGnRE"]


def test_device_mappings_are_not_executable():
    result = trace(kernel=v("6.9"), region="pci-bar-prefetchable", guest_call="ioremap_wc", fwb=False)
    assert result.stage2.executable is False


def test_mair_el1_values():
    # MAIR_EL1_SET: v5.4 layout (Device first) and v5.14+ (MT_NORMAL = 0, five indexes).
    assert mair_el1(v("5.4")) == 0x0000BBFF440C0400
    assert mair_el1(v("6.6")) == 0x000000040044FFFF
    assert mair_el1(v("6.6"), mte=True) == 0x000000040044F0FF


def test_mt_indexes():
    assert mt_memtype(v("6.6"), "MT_NORMAL_NC")[:2] == (2, 0x44)
    assert mt_memtype(v("5.10"), "MT_DEVICE_nGnRE")[:2] == (5, 0x04)
    with pytest.raises(MemattrError):
        mt_memtype(v("6.6"), "MT_DEVICE_GRE")


@pytest.mark.parametrize("text,major,minor", [("6.6", 6, 6), ("6.9.0-rc1", 6, 9), ("6.8.0-45-generic", 6, 8),
                                              ("v5.15.167", 5, 15)])
def test_version_parsing(text, major, minor):
    assert KernelVersion.parse(text) == KernelVersion(major, minor)


@pytest.mark.parametrize("text", ["6", "six.six", "", "6.x"])
def test_malformed_versions(text):
    with pytest.raises(MemattrError):
        KernelVersion.parse(text)


def test_every_supported_version_has_exactly_one_upstream_policy():
    for major, minors in ((5, range(4, 20)), (6, range(0, 19))):
        for minor in minors:
            version = KernelVersion(major, minor)
            matching = [p for p in POLICIES if p.upstream and p.since <= version and (p.until is None or version <= p.until)]
            assert len(matching) == 1, version
            assert policy_for_version(version) is matching[0]


def test_ioremap_np_did_not_exist_before_5_13():
    with pytest.raises(MemattrError):
        trace(kernel=v("5.10"), region="pci-bar-prefetchable", guest_call="ioremap_np", fwb=False)


@pytest.mark.parametrize("kernel,fwb,memattr", [("6.12", False, 0xF), ("6.12", True, 0xF), ("6.19", True, 0xF),
                                                ("7.0", False, 0xF), ("7.0", True, 0x7)])
def test_pkvm_host_stage2_keeps_the_host_types(kernel, fwb, memattr):
    """pKVM's host stage 2 maps MMIO MT_S2_NORMAL without FWB (to v6.19) and MT_S2_FWB_AS_S1 with FWB (v7.0):
    every host stage-1 type survives (Table D8-98; R_VRJSW for FWB 0b0111)."""
    from memattr.arch.combine import Controls, combine
    from memattr.linux.kvm import pkvm_host_stage2

    row = pkvm_host_stage2(v(kernel))
    use_fwb = fwb and row.fwb_used
    assert row.memattr[fwb] == memattr
    for mt in ("MT_DEVICE_nGnRnE", "MT_DEVICE_nGnRE", "MT_NORMAL_NC", "MT_NORMAL"):
        _, byte, memtype = mt_memtype(v(kernel), mt)
        result = combine(byte, row.memattr[fwb], controls=Controls(fwb=use_fwb))
        assert result.memory_type == memtype.short_name
