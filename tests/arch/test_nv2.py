"""FEAT_NV2's transformed register accesses (DDI0487 M.a.a D8.14.6.2, Table D8-120), checked for shape and
against an independent transcription: Linux's arch/arm64/include/asm/vncr_mapping.h (KVM's VNCR page layout), whose VNCR_*
offsets name the NV1=1 registers."""

from __future__ import annotations

from memattr.arch.nv2 import OFFSET_IF_NV1_0, OFFSET_IF_NV1_1, TABLE_D8_120

# Linux vncr_mapping.h, the first entries of the file (byte offsets in the VNCR page).
LINUX_VNCR_MAPPING = {
    "VTTBR_EL2": 0x020, "VTCR_EL2": 0x040, "VMPIDR_EL2": 0x050, "CNTVOFF_EL2": 0x060, "HCR_EL2": 0x078,
    "HSTR_EL2": 0x080, "VPIDR_EL2": 0x088, "TPIDR_EL2": 0x090, "HCRX_EL2": 0x0A0, "VNCR_EL2": 0x0B0,
    "CPACR_EL1": 0x100, "CONTEXTIDR_EL1": 0x108, "SCTLR_EL1": 0x110,
}


def test_offsets_are_distinct_doublewords_inside_the_page():
    offsets = [offset for _, _, offset in TABLE_D8_120]
    assert len(set(offsets)) == len(offsets) == len(OFFSET_IF_NV1_0) == len(OFFSET_IF_NV1_1)
    assert all(offset % 8 == 0 and 0 < offset < 0x1000 for offset in offsets)  # RQSKNK: below 0x1000


def test_the_two_columns_name_the_el12_and_el1_forms_of_one_register():
    for nv1_0, nv1_1, _ in TABLE_D8_120:
        assert nv1_0 == nv1_1 or nv1_0.replace("_EL12", "_EL1").replace("_EL02", "_EL0") == nv1_1 \
            or (nv1_0, nv1_1) == ("PIRE0_EL1", "PIRE0_EL2"), (nv1_0, nv1_1)


def test_offsets_agree_with_linux_vncr_mapping():
    assert {name: OFFSET_IF_NV1_1[name] for name in LINUX_VNCR_MAPPING} == LINUX_VNCR_MAPPING
    assert (OFFSET_IF_NV1_1["ESR_EL1"], OFFSET_IF_NV1_1["ELR_EL1"]) == (0x138, 0x230)  # herd7's sysregs_map too
    assert OFFSET_IF_NV1_1["ICH_LR15_EL2"] == 0x478 and OFFSET_IF_NV1_1["AMEVCNTVOFF115_EL2"] == 0xAF8
