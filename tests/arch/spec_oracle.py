"""An independent oracle for the exhaustive tests, written from the Arm ARM tables, not from memattr.

It works on names only (the canonical short names, XS and Tagged), using literal copies of:
DDI0487 M.a D24.2.127 (MAIR_EL1.Attr<n> tables), D8.6.5 Table D8-96 (stage-2 MemAttr, FWB=0),
Table D8-97 (Device precedence), Table D8-98 (Cacheability combination), D8.6.6 Tables D8-100 and
D8-101 (FWB=1), D8.6.2 RPYFVQ (Device and Normal-NC are Outer Shareable) and the XS rules of
S1DecodeMemAttrs / S2CombineS1MemAttrs / AArch64.S2ApplyFWBMemAttrs.
"""

from __future__ import annotations

UNP = "UNPREDICTABLE"

# D24.2.127 'dd'
DD = {0b00: "nGnRnE", 0b01: "nGnRE", 0b10: "nGRE", 0b11: "GRE"}

# D24.2.127 'oooo' / 'iiii' (field value -> cacheability); 0b0000 is "see encoding of Attr".
FIELD = {
    0x1: "WT", 0x2: "WT", 0x3: "WT",  # 0b00RW, RW != 00: Write-Through Transient
    0x4: "NC",                          # 0b0100: Non-cacheable
    0x5: "WB", 0x6: "WB", 0x7: "WB",  # 0b01RW, RW != 00: Write-Back Transient
    0x8: "WT", 0x9: "WT", 0xA: "WT", 0xB: "WT",  # 0b10RW: Write-Through Non-transient
    0xC: "WB", 0xD: "WB", 0xE: "WB", 0xF: "WB",  # 0b11RW: Write-Back Non-transient
}


def mair(byte: int, features: frozenset[str]) -> dict | str:
    """Expected decode of a MAIR byte: {kind, name, xs, tagged} or UNP."""
    hi, lo = byte >> 4, byte & 0xF
    if hi == 0:
        if lo & 0b11 == 0b00:
            return {"kind": "Device", "name": f"Device-{DD[lo >> 2]}", "xs": 1, "tagged": False}
        if lo & 0b11 == 0b01 and "XS" in features:
            return {"kind": "Device", "name": f"Device-{DD[lo >> 2]}", "xs": 0, "tagged": False}
        return UNP
    if lo == 0:
        if byte == 0x40 and "XS" in features:
            return {"kind": "Normal", "name": "Normal-iNC-oNC", "xs": 0, "tagged": False, "i": "NC", "o": "NC"}
        if byte == 0xA0 and "XS" in features:
            return {"kind": "Normal", "name": "Normal-iWT-oWT", "xs": 0, "tagged": False, "i": "WT", "o": "WT"}
        if byte == 0xF0 and "MTE2" in features:
            return {"kind": "Normal", "name": "Normal-iWB-oWB", "xs": 0, "tagged": True, "i": "WB", "o": "WB"}
        return UNP
    inner, outer = FIELD[lo], FIELD[hi]
    xs = 0 if (inner, outer) == ("WB", "WB") else 1  # "stage 1 Inner WB, Outer WB have XS=0"
    return {"kind": "Normal", "name": f"Normal-i{inner}-o{outer}", "xs": xs, "tagged": False, "i": inner, "o": outer}


# Table D8-96, FWB=0: value -> ("Device", kind) | ("Normal", outer, inner) | None (reserved)
S2_NOFWB = {
    0b0000: ("Device", "nGnRnE"), 0b0001: ("Device", "nGnRE"), 0b0010: ("Device", "nGRE"), 0b0011: ("Device", "GRE"),
    0b0100: None,  # Normal NoTagAccess WB with FEAT_MTE_PERM, else reserved
    0b0101: ("Normal", "NC", "NC"), 0b0110: ("Normal", "NC", "WT"), 0b0111: ("Normal", "NC", "WB"),
    0b1000: None,
    0b1001: ("Normal", "WT", "NC"), 0b1010: ("Normal", "WT", "WT"), 0b1011: ("Normal", "WT", "WB"),
    0b1100: None,
    0b1101: ("Normal", "WB", "NC"), 0b1110: ("Normal", "WB", "WT"), 0b1111: ("Normal", "WB", "WB"),
}

# Tables D8-100/D8-101, FWB=1, MemAttr[2:0] (MemAttr[3] RES0 without FEAT_MTE_PERM).
S2_FWB = {
    0b000: ("Device", "nGnRnE"), 0b001: ("Device", "nGnRE"), 0b010: ("Device", "nGRE"), 0b011: ("Device", "GRE"),
    0b100: None,
    0b101: ("NC-unless-S1-Device",),
    0b110: ("WB",),
    0b111: ("S1",),
}

# Table D8-97: precedence of Device types (strongest first).
DEVICE_ORDER = ["nGnRnE", "nGnRE", "nGRE", "GRE"]

# Table D8-98: stage 1 x stage 2 cacheability.
CACHE = {
    ("NC", "NC"): "NC", ("NC", "WT"): "NC", ("NC", "WB"): "NC",
    ("WT", "NC"): "NC", ("WB", "NC"): "NC",
    ("WT", "WT"): "WT", ("WT", "WB"): "WT", ("WB", "WT"): "WT",
    ("WB", "WB"): "WB",
}


def _device(name: str) -> str:
    return name[len("Device-"):]


def _share(name: str) -> str:
    # RPYFVQ: Device and Normal Non-cacheable are Outer Shareable; otherwise both stages give ISH here.
    return "OSH" if name.startswith("Device") or name == "Normal-iNC-oNC" else "ISH"


def combine(s1_byte: int, s2: int, fwb: bool, features: frozenset[str]) -> dict | str:
    """Expected {name, shareability, xs, tagged} for stage-1 SH=ISH, stage-2 SH=ISH, FnXS=0."""
    s1 = mair(s1_byte, features)
    s2_entry = S2_FWB[s2 & 0b111] if fwb else S2_NOFWB[s2]
    if s1 == UNP or s2_entry is None:
        return UNP
    mte2 = "MTE2" in features
    if not fwb:
        if s2_entry[0] == "Device" and s1["kind"] == "Device":
            strongest = min(_device(s1["name"]), s2_entry[1], key=DEVICE_ORDER.index)
            name = f"Device-{strongest}"
        elif s1["kind"] == "Device":
            name = s1["name"]
        elif s2_entry[0] == "Device":
            name = f"Device-{s2_entry[1]}"
        else:
            _, outer2, inner2 = s2_entry
            name = f"Normal-i{CACHE[(s1['i'], inner2)]}-o{CACHE[(s1['o'], outer2)]}"
        xs = 0 if name == "Normal-iWB-oWB" else s1["xs"] & 1  # stage 2 XS is 1 (FnXS=0)
        tagged = mte2 and s1["tagged"] and name == "Normal-iWB-oWB"
        return {"name": name, "shareability": _share(name), "xs": xs, "tagged": tagged}
    kind = s2_entry[0]
    if kind == "Device":
        if s1["kind"] == "Device":
            name = f"Device-{min(_device(s1['name']), s2_entry[1], key=DEVICE_ORDER.index)}"
        else:
            name = f"Device-{s2_entry[1]}"
        xs = s1["xs"]
        tagged = False
    elif kind == "S1":
        name, xs, tagged = s1["name"], s1["xs"], s1["tagged"]
    elif kind == "WB":
        name, xs = "Normal-iWB-oWB", 0
        # S2MemTagType: tags survive if stage 1 is Tagged and the forced WB keeps RWA non-transient hints.
        tagged = s1["tagged"]
    else:
        if s1["kind"] == "Device":
            name, xs = s1["name"], s1["xs"]
        else:
            name, xs = "Normal-iNC-oNC", s1["xs"]
        tagged = False
    tagged = tagged and mte2
    return {"name": name, "shareability": _share(name), "xs": xs, "tagged": tagged}
