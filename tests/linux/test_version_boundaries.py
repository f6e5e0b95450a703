"""The Linux model on both sides of every version where a fact changes (issue 11).

Expectations are written from the kernel sources cited in memattr.linux, independently of the code:
each boundary names what changed and which commit changed it.
"""

from __future__ import annotations

import pytest

from memattr.errors import MemattrError
from memattr.linux.chain import trace
from memattr.linux.facts import STATUSES, all_facts
from memattr.linux.kvm import pkvm_host_stage2
from memattr.linux.layout import check_version, layout_for, mair_el1
from memattr.linux.version import v


def effective(**kwargs) -> str | None:  # type: ignore[no-untyped-def]
    return trace(**kwargs).effective.memory_type


# -- 5.9 / 5.10: the MTE reorder puts MT_NORMAL at index 0 --------------------------------------------

def test_5_9_to_5_10_mair_layout():
    assert mair_el1(v("5.9")) == 0x0000_BBFF_440C_0400  # nGnRnE,nGnRE,GRE,NC,NORMAL,WT at 0..5
    assert mair_el1(v("5.10")) == 0x000C_0400_BB44_FFFF  # NORMAL,TAGGED(as NORMAL),NC,WT,nGnRnE,nGnRE,GRE
    assert layout_for(v("5.9")).indexes["MT_NORMAL"] == 4
    assert layout_for(v("5.10")).indexes["MT_NORMAL"] == 0


# -- 5.13 / 5.14: Device-GRE and Normal-WT removed; ioremap_np present from 5.13 -----------------------

def test_5_13_to_5_14_gre_and_wt_removed():
    assert "MT_DEVICE_GRE" in layout_for(v("5.13")).indexes and "MT_NORMAL_WT" in layout_for(v("5.13")).indexes
    assert "MT_DEVICE_GRE" not in layout_for(v("5.14")).indexes
    assert mair_el1(v("5.14")) == 0x0000_0004_0044_FFFF
    assert trace(kernel=v("5.13"), region="pci-bar-prefetchable", guest_call="ioremap_np", fwb=False)
    with pytest.raises(MemattrError):
        trace(kernel=v("5.12"), region="pci-bar-prefetchable", guest_call="ioremap_np", fwb=False)


def test_vfio_pci_citation_follows_the_file_split():
    old = trace(kernel=v("5.14"), region="pci-bar-prefetchable", guest_call="ioremap", fwb=False)
    new = trace(kernel=v("5.15"), region="pci-bar-prefetchable", guest_call="ioremap", fwb=False)
    vmm = lambda t: next(a.source for a in t.aliases if a.who.startswith("VMM"))  # noqa: E731
    assert "vfio_pci.c vfio_pci_mmap()" in vmm(old) and "vfio_pci_core.c" not in vmm(old)
    assert "vfio_pci_core.c vfio_pci_core_mmap()" in vmm(new)


def test_stage2_code_citation_follows_the_move_and_the_page_table_rewrite():
    texts = {k: " ".join(s["source"] for s in trace(kernel=v(k), region="pci-bar-prefetchable", guest_call="ioremap",
                                                     fwb=False).explanation if s["rule"] == "stage2-code")
             for k in ("5.4", "5.9", "6.1")}
    assert "virt/kvm/arm/mmu.c" in texts["5.4"] and "PAGE_S2_DEVICE" in texts["5.4"]
    assert "arch/arm64/kvm/mmu.c" in texts["5.9"] and "PAGE_S2_DEVICE" in texts["5.9"]
    assert "KVM_PGTABLE_PROT_DEVICE" in texts["6.1"]


# -- 6.8 / 6.9: VM_ALLOW_ANY_UNCACHED, and nvgrace-gpu arrives ---------------------------------------

def test_6_8_to_6_9_write_combining_reaches_the_guest():
    assert effective(kernel=v("6.8"), region="pci-bar-prefetchable", guest_call="ioremap_wc", fwb=False) == "Device-nGnRE"
    assert effective(kernel=v("6.9"), region="pci-bar-prefetchable", guest_call="ioremap_wc", fwb=False) == "Normal-iNC-oNC"
    assert effective(kernel=v("6.9"), region="platform-mmio", guest_call="ioremap_wc", fwb=False) == "Device-nGnRE"


def test_nvgrace_gpu_exists_from_6_9():
    with pytest.raises(MemattrError):
        trace(kernel=v("6.8"), region="coherent-device-memory", guest_call="ioremap_cache", fwb=True)
    assert trace(kernel=v("6.9"), region="coherent-device-memory", guest_call="ioremap_cache", fwb=True)


@pytest.mark.parametrize("kernel", ["6.9", "6.12", "6.16"])
@pytest.mark.parametrize("fwb", [False, True])
def test_nvgrace_usemem_is_device_at_stage2_before_6_17(kernel, fwb):
    """nvgrace_gpu_mmap() sets VM_ALLOW_ANY_UNCACHED for resmem only, so usemem faults as a plain device."""
    traced = trace(kernel=v(kernel), region="coherent-device-memory", guest_call="ioremap_cache", fwb=fwb)
    assert "VM_ALLOW_ANY_UNCACHED" not in traced.vma_flags
    assert traced.stage2.memory_type == "Device-nGnRE"
    assert traced.effective.memory_type == "Device-nGnRE"
    host = {a.how: a.memory_type for a in traced.aliases}
    assert host["memremap_wb"] == "Normal-iWB-oWB" and host["pgprot_cached"] == "Normal-iWB-oWB"
    assert any(str(h).startswith("mismatched-aliases: cacheable vs non-cacheable") for h in traced.hazards)


def test_nvgrace_resmem_is_write_combining_with_an_ioremap_wc_host_alias():
    traced = trace(kernel=v("6.9"), region="device-reserved-memory", guest_call="ioremap_wc", fwb=False)
    assert "VM_ALLOW_ANY_UNCACHED" in traced.vma_flags
    assert {a.how for a in traced.aliases} >= {"ioremap_wc", "pgprot_writecombine"}
    assert traced.effective.memory_type == "Normal-iNC-oNC"


# -- 6.16 / 6.17: cacheable PFNMAP, gated on FWB and DIC ---------------------------------------------

def test_6_16_to_6_17_coherent_memory_becomes_cacheable():
    old = trace(kernel=v("6.16"), region="coherent-device-memory", guest_call="ioremap_cache", fwb=True)
    new = trace(kernel=v("6.17"), region="coherent-device-memory", guest_call="ioremap_cache", fwb=True)
    assert old.effective.memory_type == "Device-nGnRE"
    assert new.stage2.memattr == 0b0110 and new.effective.memory_type == "Normal-iWB-oWB"
    assert new.effective.executable is True  # the CACHE_DIC branch adds KVM_PGTABLE_PROT_X


@pytest.mark.parametrize("fwb,dic,missing", [(True, True, None), (True, False, "CTR_EL0.DIC"),
                                             (False, True, "FEAT_S2FWB"), (False, False, "FEAT_S2FWB and CTR_EL0.DIC")])
def test_6_17_fwb_by_dic(fwb, dic, missing):
    """kvm_supports_cacheable_pfnmap() is FWB && CACHE_DIC; without it the memslot is refused with -EINVAL."""
    traced = trace(kernel=v("6.17"), region="coherent-device-memory", guest_call="ioremap_cache", fwb=fwb, dic=dic)
    if missing is None:
        assert traced.effective.memory_type == "Normal-iWB-oWB"
        return
    assert traced.effective.memory_type is None
    assert traced.stage2.refused_at == "memslot"
    assert f"({missing} absent)" in traced.stage2.refused and "-EINVAL" in traced.stage2.refused
    assert any("-EFAULT" in step["text"] for step in traced.explanation)


def test_6_17_non_cacheable_pfnmap_still_follows_allow_any_uncached():
    for dic in (False, True):
        assert effective(kernel=v("6.17"), region="pci-bar-prefetchable", guest_call="ioremap_wc", fwb=True,
                         dic=dic) == "Normal-iNC-oNC"


# -- 6.18 / 7.0: MT_S2_AS_S1 and the pKVM host stage 2 under FWB --------------------------------------

def test_6_18_to_7_0_pkvm_host_stage2():
    assert pkvm_host_stage2(v("6.18")).memattr == {False: 0xF, True: 0xF}
    assert not pkvm_host_stage2(v("6.18")).fwb_used
    assert pkvm_host_stage2(v("7.0")).memattr == {False: 0xF, True: 0x7}
    assert pkvm_host_stage2(v("7.0")).fwb_used


def test_versions_up_to_7_0_are_modelled():
    for version in ("6.13", "6.18", "6.19", "7.0"):
        check_version(v(version))
        assert effective(kernel=v(version), region="pci-bar-prefetchable", guest_call="ioremap_wc",
                         fwb=True) == "Normal-iNC-oNC"
    with pytest.raises(MemattrError):
        check_version(v("7.1"))


# -- the proposed dma-buf mmap -----------------------------------------------------------------------

def test_dma_buf_needs_proposed_and_is_normal_nc_or_wc():
    with pytest.raises(MemattrError, match="--proposed"):
        trace(kernel=v("7.0"), region="dma-buf", guest_call="ioremap_wc", fwb=True)
    uc = trace(kernel=v("7.0"), region="dma-buf", guest_call="ioremap_wc", fwb=True, proposed=True)
    wc = trace(kernel=v("7.0"), region="dma-buf", guest_call="ioremap_wc", fwb=True, proposed=True,
               driver="vfio-pci-dmabuf-wc")
    assert uc.vma_pgprot == "pgprot_noncached" and wc.vma_pgprot == "pgprot_writecombine"
    assert "VM_ALLOW_ANY_UNCACHED" in uc.vma_flags and "VM_ALLOW_ANY_UNCACHED" in wc.vma_flags
    assert uc.effective.memory_type == wc.effective.memory_type == "Normal-iNC-oNC"


# -- every fact carries a citation and a status ------------------------------------------------------

def test_every_fact_has_a_source_and_a_status():
    facts = all_facts()
    assert len({f.id for f in facts}) == len(facts)
    for fact in facts:
        assert fact.status in STATUSES, fact
        assert fact.source.strip(), fact
        if fact.status == "inferred":
            assert fact.note, f"{fact.id}: an inferred fact must say why it is believed"
    ids = {f.id for f in facts}
    assert {"driver.nvgrace-gpu-usemem", "policy.cacheable-pfnmap", "s2.KVM_PGTABLE_S2_AS_S1.fwb",
            "cpufeature.dic", "pkvm.host-stage2.7.0", "layout.5.14"} <= ids


def test_facts_command(run):
    data = run("facts", "--json").json()
    assert sum(data["counts"].values()) == len(data["facts"]) > 40
    inferred = run("facts", "--status", "inferred", "--json").json()
    assert inferred["facts"] and all(f["status"] == "inferred" for f in inferred["facts"])
    assert run("facts", "--area", "nope").code == 2
