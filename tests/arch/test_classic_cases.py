"""The cases argued over in the Dec 2023 KVM/VFIO thread, with the rule that decides each."""

from __future__ import annotations

import pytest

from memattr.arch.combine import Access, Controls, combine
from memattr.arch.memtypes import Normal, Shareability


@pytest.mark.parametrize(
    ("s1", "s2", "fwb", "expected", "rule"),
    [
        # Guest Normal-NC (ioremap_wc) over KVM's stage-2 Device-nGnRE: Device has precedence (Table D8-97).
        (0x44, 0b0001, False, "Device-nGnRE", "S2CombineS1MemAttrs"),
        # Guest Device-nGnRE over stage-2 Normal-NC: Device has precedence over Normal.
        (0x04, 0b0101, False, "Device-nGnRE", "S2CombineS1MemAttrs"),
        # Guest Normal-NC over stage-2 Normal-NC (VM_ALLOW_ANY_UNCACHED): the guest's choice stands.
        (0x44, 0b0101, False, "Normal-iNC-oNC", "S2CombineS1AttrHints"),
        # Guest Device-nGnRnE (ioremap_np) over stage-2 Normal-NC.
        (0x00, 0b0101, False, "Device-nGnRnE", "S2CombineS1MemAttrs"),
        # Guest Device-nGnRE over stage-2 Device-nGnRnE: the stronger Device type wins.
        (0x04, 0b0000, False, "Device-nGnRnE", "S2CombineS1Device"),
        # Guest Normal WB over FWB 0b110: forced Normal Write-Back.
        (0xFF, 0b0110, True, "Normal-iWB-oWB", "AArch64.S2ApplyFWBMemAttrs"),
        # Guest Device over FWB 0b111: stage 1's Device type.
        (0x04, 0b0111, True, "Device-nGnRE", "AArch64.S2ApplyFWBMemAttrs"),
        (0x00, 0b0111, True, "Device-nGnRnE", "AArch64.S2ApplyFWBMemAttrs"),
        # Guest Device over FWB 0b110: forced Write-Back even though the guest asked for Device (RRMTWN).
        (0x04, 0b0110, True, "Normal-iWB-oWB", "AArch64.S2ApplyFWBMemAttrs"),
        # Guest Normal-NC over FWB 0b101: Normal-NC; guest Device over FWB 0b101: Device stands.
        (0x44, 0b0101, True, "Normal-iNC-oNC", "AArch64.S2ApplyFWBMemAttrs"),
        (0x04, 0b0101, True, "Device-nGnRE", "AArch64.S2ApplyFWBMemAttrs"),
        # Guest Normal WB over FWB Device-nGnRE (KVM's MT_S2_FWB_DEVICE_nGnRE): Device.
        (0xFF, 0b0001, True, "Device-nGnRE", "AArch64.S2ApplyFWBMemAttrs"),
    ],
)
def test_classic_case(s1, s2, fwb, expected, rule):
    got = combine(s1, s2, controls=Controls(fwb=fwb))
    assert got.memory_type == expected
    assert rule in [step.rule for step in got.explanation]


def test_normal_nc_is_outer_shareable_whatever_the_descriptors_say():
    """RPYFVQ: Device and Normal-NC after all stages are Outer Shareable."""
    got = combine(0x44, 0b0101, s1_shareability=Shareability.NSH, s2_shareability=Shareability.NSH)
    assert got.result.shareability is Shareability.OSH


def test_cacheable_shareability_is_the_larger_domain():
    """S2CombineS1Shareability: OSH beats ISH beats NSH."""
    got = combine(0xFF, 0b1111, s1_shareability=Shareability.NSH, s2_shareability=Shareability.OSH)
    assert got.result.shareability is Shareability.OSH
    got = combine(0xFF, 0b1111, s1_shareability=Shareability.ISH, s2_shareability=Shareability.NSH)
    assert got.result.shareability is Shareability.ISH


def test_rnscnc_choice_is_reported_when_it_matters():
    """D8.6.2 RNSCNC: stage-1 NC, NSH under FWB forced WB: IMPLEMENTATION DEFINED shareability."""
    plain = combine(0x44, 0b0110, s1_shareability=Shareability.NSH, s2_shareability=Shareability.NSH,
                    controls=Controls(fwb=True))
    assert plain.result.shareability is Shareability.NSH
    assert "RNSCNC" in [step.rule for step in plain.explanation]
    effective = combine(0x44, 0b0110, s1_shareability=Shareability.NSH, s2_shareability=Shareability.NSH,
                        controls=Controls(fwb=True, s1_effective_shareability=True))
    assert effective.result.shareability is Shareability.OSH


def test_stage1_disabled_data_is_device_ngnrne():
    """AArch64.S1DisabledOutput: data accesses with stage 1 off are Device-nGnRnE."""
    assert combine(None, 0b1111).memory_type == "Device-nGnRnE"


def test_hcr_dc_makes_stage1_default_write_back():
    """AArch64.S1DisabledOutput with HCR_EL2.DC=1: Normal WB RWA, Non-shareable."""
    got = combine(None, 0b1111, s2_shareability=Shareability.NSH, controls=Controls(hcr_dc=True))
    assert got.memory_type == "Normal-iWB-oWB"
    assert got.result.shareability is Shareability.NSH
    # Stage 2's Inner Shareable then widens it (S2CombineS1Shareability).
    got = combine(None, 0b1111, controls=Controls(hcr_dc=True))
    assert got.result.shareability is Shareability.ISH


def test_stage1_disabled_ifetch_is_write_through_when_icache_on():
    got = combine(None, None, controls=Controls(access=Access.IFETCH))
    assert got.memory_type == "Normal-iWT-oWT"
    got = combine(None, None, controls=Controls(access=Access.IFETCH, sctlr_i=False))
    assert got.memory_type == "Normal-iNC-oNC"


def test_ifetch_from_device_is_treated_as_normal_nc():
    """AArch64.S1Translate / S2Translate: instruction fetch from Device is treated as Normal-NC."""
    assert combine(0x04, 0b1111, controls=Controls(access=Access.IFETCH)).memory_type == "Normal-iNC-oNC"
    assert combine(0xFF, 0b0001, controls=Controls(access=Access.IFETCH)).memory_type == "Normal-iNC-oNC"


def test_sctlr_c_off_makes_normal_data_non_cacheable():
    assert combine(0xFF, 0b1111, controls=Controls(sctlr_c=False)).memory_type == "Normal-iNC-oNC"
    assert combine(0x04, 0b1111, controls=Controls(sctlr_c=False)).memory_type == "Device-nGnRE"


def test_hcr_cd_makes_stage2_normal_data_non_cacheable():
    assert combine(0xFF, 0b1111, controls=Controls(hcr_cd=True)).memory_type == "Normal-iNC-oNC"


def test_stage2_disabled_gives_stage1():
    assert combine(0x44, None).memory_type == "Normal-iNC-oNC"


def test_fnxs_forces_xs_zero():
    assert combine(0x04, 0b0001, s2_fnxs=True).result.memtype.xs is False
    assert combine(0x04, 0b0001).result.memtype.xs is True


def test_mte_tags_survive_only_over_write_back():
    """S2MemTagType: Tagged stage 1 keeps tags over stage-2 WB, loses them over NC."""
    features = frozenset({"MTE2"})
    assert isinstance(combine(0xF0, 0b1111, features=features).result.memtype, Normal)
    assert combine(0xF0, 0b1111, features=features).result.memtype.tags.value == "Tagged"
    assert combine(0xF0, 0b0101, features=features).result.memtype.tags.value == "Untagged"


def test_mte_perm_notagaccess():
    """Table D8-99: Tagged stage 1 over stage-2 0b0100 with FEAT_MTE_PERM is Tagged, NoTagAccess."""
    features = frozenset({"MTE2", "MTE_PERM"})
    got = combine(0xF0, 0b0100, features=features)
    assert got.memory_type == "Normal-iWB-oWB" and got.result.notagaccess
    got = combine(0xF0, 0b1110, features=features, controls=Controls(fwb=True))
    assert got.memory_type == "Normal-iWB-oWB" and got.result.notagaccess
