"""What two upstream implementations compute for the S1+S2 combination, described from their source.

These are memattr's own descriptions of the behaviour (facts read from the code, no code copied),
as byte-level functions of the same inputs the vectors use.  Each returns a MAIR-format byte (what
PAR_EL1.ATTR would report) and a shareability, which :mod:`memattr.conformance.compare` decodes.

- ``qemu``: QEMU TCG, ``target/arm/ptw.c`` at commit 9c2ff9cdc9b3 (just after v10.0, spring 2025):
  ``combine_cacheattrs()``, ``combined_attrs_nofwb()``, ``combined_attrs_fwb()``,
  ``combine_cacheattr_nibble()``, ``convert_stage2_attrs()``, ``force_cacheattr_nibble_wb()``, and
  the HCR_EL2.DC override in ``get_phys_addr_twostage()``.  QEMU does not model XS or FnXS (so the
  XS column is not compared).  It never reads SCTLR_ELx.C: ``get_phys_addr_lpae()`` takes the MAIR
  byte as the descriptor selects it and ``combine_cacheattrs()`` has no SCTLR input, so with C=0 it
  computes what it computes with C=1 (compared, and reported as a difference).
- ``kvm-at``: Linux KVM's AT emulation for nested guests, ``arch/arm64/kvm/at.c`` as of v6.18
  (read at 0090c0a247cd; the combination is unchanged since the v6.13 fix 'KVM: arm64: Fix S1/S2
  combination when FWB==1 and S2 has Device memory type'): ``compute_par_s1()`` (stage-1 byte),
  ``s2_memattr_to_attr()``, ``combine_s1_s2_attr()``, ``compute_par_s12()``, ``compute_sh()`` and
  ``combine_sh()``.  KVM does not model XS or FnXS either.  It has no tag logic of its own, but the
  PAR byte carries the Tagged encoding (0xf0) through where it passes stage 1's byte on, so the tags
  column is compared: where it rebuilds the byte (FWB 0b110 gives 0xff) the Tagged attribute is lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

SH_BITS = {"NSH": 0b00, "OSH": 0b10, "ISH": 0b11}
SH_NAMES = {0b00: "NSH", 0b10: "OSH", 0b11: "ISH"}


@dataclass(frozen=True, slots=True)
class ProfileInputs:
    s1: int
    s2: int
    fwb: bool
    features: frozenset[str]
    s1_sh: str
    s2_sh: str
    fnxs: bool
    hcr_cd: bool
    hcr_dc: bool
    sctlr_c: bool


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    title: str
    version: str
    source: str
    compute: Callable[[ProfileInputs], tuple[int, str]]
    # Output columns the implementation models (the others are not compared).
    columns: tuple[str, ...]
    # Inputs outside the implementation's model: only these values are compared.
    domain: dict[str, tuple[object, ...]]


def _combined_sh(s1: str, s2: str) -> str:
    """Both QEMU and KVM: Outer if either is Outer, else Inner if either is Inner, else Non-shareable."""
    if "OSH" in (s1, s2):
        return "OSH"
    if "ISH" in (s1, s2):
        return "ISH"
    return "NSH"


# -- QEMU target/arm/ptw.c ---------------------------------------------------------------------------

def _qemu_convert_stage2(hcr_cd: bool, value: int) -> int:
    """convert_stage2_attrs(): a stage-2 MemAttr to a MAIR byte (FWB=0 only)."""
    hi, lo = value >> 2 & 3, value & 3
    if hi == 0:
        return lo << 2  # Device: nGnRnE .. GRE
    if hcr_cd:
        return 0x44
    hi_hint = 0 if hi == 1 else 3  # each Normal nibble gets read/write-allocate unless Non-cacheable
    lo_hint = 0 if lo == 1 else 3
    return hi << 6 | hi_hint << 4 | lo << 2 | lo_hint


def _qemu_nibble(s1: int, s2: int) -> int:
    """combine_cacheattr_nibble(): one Normal cacheability nibble."""
    if s1 == 4 or s2 == 4:
        return 4  # either Non-cacheable
    if s1 >> 2 in (0, 2):
        return s1  # stage 1 Write-Through (transient or not): kept with its hints
    if s2 >> 2 == 2:
        return 0b1000 | s1 & 3  # stage 2 Write-Through: WT non-transient with stage 1's hints
    return s1


def _qemu_nofwb(hcr_cd: bool, s1: int, s2_value: int) -> int:
    """combined_attrs_nofwb()."""
    s2 = _qemu_convert_stage2(hcr_cd, s2_value)
    if s1 >> 4 == 0 or s2 >> 4 == 0:
        # The Device rules test the low nibble of both bytes, whichever side is Device.
        lows = (s1 & 0xF, s2 & 0xF)
        if 0 in lows:
            return 0x00
        if 4 in lows:
            return 0x04
        if 8 in lows:
            return 0x08
        return 0x0C
    return _qemu_nibble(s1 >> 4, s2 >> 4) << 4 | _qemu_nibble(s1 & 0xF, s2 & 0xF)


def _qemu_force_wb(nibble: int) -> int:
    """force_cacheattr_nibble_wb()."""
    if nibble in (0, 4):
        return 0xF
    return nibble | 4


def _qemu_fwb(s1: int, s2: int) -> int:
    """combined_attrs_fwb(): the stage-2 value is the 4-bit descriptor field; HCR_EL2 is not consulted."""
    if s2 == 0b0111:
        return s1
    if s2 == 0b0110:
        if s1 >> 4 == 0:
            return 0xFF
        return _qemu_force_wb(s1 >> 4) << 4 | _qemu_force_wb(s1 & 0xF)
    if s2 == 0b0101:
        return s1 if s1 >> 4 == 0 else 0x44
    if s2 <= 0b0011:
        return s2 << 2  # the stage-2 Device type, whatever stage 1 is
    return 0x00  # reserved values: 'arbitrarily force Device'


def qemu(inputs: ProfileInputs) -> tuple[int, str]:
    """combine_cacheattrs(), after get_phys_addr_twostage()'s HCR_EL2.DC override."""
    s1, s1_sh = inputs.s1, inputs.s1_sh
    if inputs.hcr_dc:
        s1 = 0xFF if s1 != 0xF0 else s1  # stage 1 treated as disabled: Normal Write-Back, Non-shareable
        s1_sh = "NSH"
    tagged = s1 == 0xF0
    if tagged:
        s1 = 0xFF
    share = _combined_sh(s1_sh, inputs.s2_sh)
    if inputs.fwb:
        attr = _qemu_fwb(s1, inputs.s2)
    else:
        attr = _qemu_nofwb(inputs.hcr_cd, s1, inputs.s2)
    if attr >> 4 == 0 or attr == 0x44:
        share = "OSH"
    if tagged and attr == 0xFF:
        attr = 0xF0
    return attr, share


# -- Linux arch/arm64/kvm/at.c ----------------------------------------------------------------------

def _kvm_s2_to_attr(value: int) -> int:
    """s2_memattr_to_attr(): MAIR-like byte with no allocation hints (MEMATTR(inner, outer))."""
    table = {0b0000: 0x00, 0b0001: 0x04, 0b0010: 0x08, 0b0011: 0x0C, 0b0100: 0xCC, 0b0101: 0x44,
             0b0110: 0x48, 0b0111: 0x4C, 0b1000: 0x44, 0b1001: 0x84, 0b1010: 0x88, 0b1011: 0x8C,
             0b1100: 0x44, 0b1101: 0xC4, 0b1110: 0xC8, 0b1111: 0xCC}
    return table[value]


def _kvm_nibble(s1: int, s2: int) -> int:
    """combine_s1_s2_attr() on one nibble."""
    transient = False
    if 0b0001 <= s1 <= 0b0011:
        transient, s1 = True, 0b1000 | s1 & 3
    elif 0b0101 <= s1 <= 0b0111:
        transient, s1 = True, 0b1100 | s1 & 3
    if s1 >> 2 == 0b01 or s2 >> 2 == 0b01:
        return 0b0100
    final = 0b1000 if (s1 >> 2 == 0b10 or s2 >> 2 == 0b10) else 0b1100
    if transient:
        # The transient type is taken from stage 1's own (upgraded) type, not from the combined one.
        final = 0b0000 if s1 >> 2 == 0b10 else 0b0100
    return final | s1 & 3


def _kvm_is_device(attr: int) -> bool:
    return attr >> 4 == 0


def _kvm_stage1(inputs: ProfileInputs) -> tuple[int, str]:
    """compute_par_s1() (software walk): the stage-1 PAR byte and shareability."""
    if inputs.hcr_dc:
        return 0xFF, "NSH"  # stage 1 treated as disabled for EL1&0
    attr = inputs.s1
    if not inputs.sctlr_c and not _kvm_is_device(attr):
        attr = 0x44
    share = "OSH" if _kvm_is_device(attr) or attr == 0x44 else inputs.s1_sh
    return attr, share


def kvm_at(inputs: ProfileInputs) -> tuple[int, str]:
    """compute_par_s12()."""
    s1, s1_share = _kvm_stage1(inputs)
    m = inputs.s2
    if inputs.fwb:
        if "MTE_PERM" not in inputs.features:
            m &= 0b0111
        if m == 0b0101:
            final = s1 if _kvm_is_device(s1) else 0x44
        elif m in (0b0110, 0b1110):
            final = 0xFF  # Write-Back read/write-allocate whatever stage 1 is
        elif m in (0b0111, 0b1111, 0b0100, 0b1100, 0b1101):
            final = s1
        else:
            final = min(_kvm_s2_to_attr(m), s1)
    else:
        s2 = _kvm_s2_to_attr(m)
        if _kvm_is_device(s1) or _kvm_is_device(s2):
            final = min(s1, s2)
        else:
            final = _kvm_nibble(s1 >> 4, s2 >> 4) << 4 | _kvm_nibble(s1 & 0xF, s2 & 0xF)
    if inputs.hcr_cd and not _kvm_is_device(final):
        final = 0x44
    s2_share = "OSH" if _kvm_is_device(final) or final == 0x44 else inputs.s2_sh
    return final, _combined_sh(s1_share, s2_share)


PROFILES: dict[str, Profile] = {
    "qemu": Profile(
        "qemu", "QEMU TCG stage-1 + stage-2 combination", "QEMU 9c2ff9cdc9b3 (v10.0+, 2025)",
        "target/arm/ptw.c combine_cacheattrs(), combined_attrs_nofwb(), combined_attrs_fwb(), "
        "combine_cacheattr_nibble(), convert_stage2_attrs(), get_phys_addr_twostage()",
        qemu,
        ("memory_type", "inner", "inner_alloc", "inner_transient", "outer", "outer_alloc", "outer_transient",
         "shareability", "tags"),
        {"fnxs": (False,)},
    ),
    "kvm-at": Profile(
        "kvm-at", "Linux KVM AT emulation (nested virtualisation)", "Linux v6.18 (at.c at 0090c0a247cd)",
        "arch/arm64/kvm/at.c compute_par_s1(), compute_par_s12(), s2_memattr_to_attr(), combine_s1_s2_attr(), "
        "compute_sh(), combine_sh()",
        kvm_at,
        ("memory_type", "inner", "inner_alloc", "inner_transient", "outer", "outer_alloc", "outer_transient",
         "shareability", "tags"),
        {"fnxs": (False,)},
    ),
}
