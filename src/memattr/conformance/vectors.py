"""The expected result of every input of the S1+S2 combination, from :mod:`memattr.arch.combine`.

The space is 256 stage-1 bytes x 16 stage-2 values x FWB x 8 feature sets x 3 x 3 shareabilities x
FnXS x HCR_EL2.CD x HCR_EL2.DC x SCTLR_EL1.C = 9,437,184 rows.  It is generated in blocks of one
feature set and one setting of the control bits (73,728 rows each).  Within a block the combination
is computed once per distinct (stage-1 output, stage-2 value, FnXS) with Inner Shareable inputs, and
the shareability of every other (s1_sh, s2_sh) pair is derived with the same ASL functions the
combination uses (``S2CombineS1Shareability`` then ``EffectiveShareability``); reserved inputs are
computed in full for every pair.  ``tests/conformance`` checks the derivation against the full
combination.
"""

from __future__ import annotations

import zlib
import itertools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator

from memattr.arch.combine import (
    Controls,
    effective_shareability,
    reserved_stage1_choices,
    s2_combine_s1_shareability,
    s2_decode_step,
    stage1_cached,
    translate,
)
from memattr.arch.memtypes import MemoryAttributes, Shareability, Unpredictable
from memattr.arch.stage2 import decode_s2_memattr, same_attribute
from memattr.conformance.columns import (
    EXPECTED_COLUMNS,
    OUTCOME_COLUMNS,
    FEATURE_SETS,
    SHAREABILITIES,
    features_text,
    outcome_code,
    outcome_fields,
)

SH = tuple(Shareability(name) for name in SHAREABILITIES)
_SH_BYTES = {sh: sh.value.encode() for sh in SH}


@dataclass(frozen=True, slots=True)
class Block:
    """One feature set and one setting of the control bits."""

    features: frozenset[str]
    fwb: bool
    hcr_cd: bool
    hcr_dc: bool
    sctlr_c: bool

    @property
    def name(self) -> str:
        return (f"{features_text(self.features) or 'none'}-fwb{int(self.fwb)}-cd{int(self.hcr_cd)}"
                f"-dc{int(self.hcr_dc)}-c{int(self.sctlr_c)}")

    @property
    def controls(self) -> Controls:
        return Controls(fwb=self.fwb, hcr_cd=self.hcr_cd, hcr_dc=self.hcr_dc, sctlr_c=self.sctlr_c)


def blocks(features: Iterable[frozenset[str]] = FEATURE_SETS, fwb: Iterable[bool] = (False, True),
           hcr_cd: Iterable[bool] = (False, True), hcr_dc: Iterable[bool] = (False, True),
           sctlr_c: Iterable[bool] = (True, False)) -> list[Block]:
    return [Block(*values) for values in itertools.product(tuple(features), tuple(fwb), tuple(hcr_cd),
                                                           tuple(hcr_dc), tuple(sctlr_c))]


@dataclass(frozen=True, slots=True)
class Row:
    inputs: tuple[str, ...]  # INPUT_COLUMNS
    outcome: tuple[str, ...]  # OUTCOME_COLUMNS
    reserved: bool
    allowed: tuple[str, ...]  # outcome codes, for reserved inputs

    def values(self) -> tuple[str, ...]:
        return (*self.inputs, *self.outcome, str(int(self.reserved)), "|".join(self.allowed))


UNPREDICTABLE_OUTCOME = ("UNPREDICTABLE",) + ("",) * 10


@dataclass
class Stage1Table:
    """Stage-1 outputs and their ids, shared by the engines of one feature set: the stage-1 output
    depends on HCR_EL2.DC and SCTLR_EL1.C but not on HCR_EL2.FWB or HCR_EL2.CD (``AArch64.S1Translate``
    reads neither), so the engines of the four (FWB, CD) groups decode each stage-1 input once."""

    ids: dict[object, int] = field(default_factory=dict)
    stage1: dict[tuple[int, str, bool, bool], tuple[int, str, object]] = field(default_factory=dict)


class BlockEngine:
    """Combines and renders rows; caches are shared by blocks of one feature set, FWB and HCR_EL2.CD.

    HCR_EL2.DC and SCTLR_EL1.C change only the stage-1 output, so the combination of a given stage-1
    output with a stage-2 value is the same in every block of the group.
    """

    def __init__(self, features: frozenset[str], fwb: bool, hcr_cd: bool, shared: Stage1Table | None = None) -> None:
        self.features = features
        self.fwb = fwb
        self.hcr_cd = hcr_cd
        self.decoded2 = [decode_s2_memattr(s2, fwb=fwb, features=features) for s2 in range(16)]
        self.steps2 = [s2_decode_step(d) for d in self.decoded2]
        # For each reserved stage-2 value: per candidate, the allocated value decoding to the same attribute.
        self.stand_ins = [
            [next((other for other, d in enumerate(self.decoded2) if not isinstance(d.attr, Unpredictable)
                   and same_attribute(d.attr, candidate)), None) for candidate in decoded.attr.candidates]
            if isinstance(decoded.attr, Unpredictable) else [] for decoded in self.decoded2]
        self.shared = shared if shared is not None else Stage1Table()
        # Keys are small ints and strings: hashing the frozen dataclasses of the model is what costs here.
        self.core: dict[tuple[int, int, bool], tuple[Prepared, ...] | None] = {}
        self.reserved: dict[tuple[int, int, bool], tuple[Prepared, ...]] = {}
        self.translated: dict[tuple[int, object, bool], Prepared] = {}
        self.texts: dict[str, dict[tuple[int, str, str], str]] = {}
        self.core_ids: dict[tuple[int, int, bool], int] = {}
        self.interned: dict[object, int] = {}
        self.by_id: dict[int, tuple[object, ...]] = {}
        self.shown_cache: dict[tuple[int, str, str], tuple[tuple[str, ...], tuple[str, ...]]] = {}
        # A reserved stage-1 byte's sid -> the (sid, attributes) of the stage-1 outputs it may stand for.
        self.choice_sids: dict[int, list[tuple[int, MemoryAttributes]]] = {}

    def stage1(self, s1: int, s1_sh: Shareability, controls: Controls) -> tuple[int, str, object]:
        """(sid, the shareability text rows show, the stage-1 output entering stage 2) of one stage-1 input."""
        key = (s1, s1_sh.value, controls.hcr_dc, controls.sctlr_c)
        known = self.shared.stage1.get(key)
        if known is None:
            known = self.shared.stage1[key] = self._stage1(s1, s1_sh, controls)
        return known

    def _stage1(self, s1: int, s1_sh: Shareability, controls: Controls) -> tuple[int, str, object]:
        ids = self.shared.ids
        stage1, _ = stage1_cached(s1, s1_sh, controls, self.features)
        if isinstance(stage1, Unpredictable):
            # Every reserved MAIR byte has the same candidates under the same features and SCTLR_EL1.C;
            # a candidate enters stage 2 with the descriptor's own shareability.
            key: object = ("reserved", controls.sctlr_c)
            return ids.setdefault(key, len(ids)), s1_sh.value, stage1
        key = (stage1.memtype, stage1.notagaccess)
        ish = MemoryAttributes(stage1.memtype, Shareability.ISH, stage1.notagaccess)
        share = stage1.shareability.value
        if share != "OSH" and effective_shareability(stage1.memtype, Shareability.NSH) is Shareability.OSH:
            # RNSCNC (D8.6.2): whether a Device or Normal Non-cacheable stage 1 enters stage 2 with its own
            # shareability or Outer Shareable is IMPLEMENTATION DEFINED; "+" marks that both are permitted.
            share += "+"
        return ids.setdefault(key, len(ids)), share, ish

    def core_id(self, sid: int, stage1: object, s2: int, fnxs: bool,
                controls: Controls) -> int:
        """A small int naming the outcome(s) of (stage-1 output, stage-2 value, FnXS) before shareability."""
        key = (sid, s2, fnxs)
        cid = self.core_ids.get(key)
        if cid is None:
            self._compute(sid, stage1, s2, fnxs, controls)
            value = self.core[key] if self.core[key] is not None else ("reserved", self.reserved[key])
            cid = self.core_ids[key] = self.interned.setdefault(value, len(self.interned))  # type: ignore[arg-type]
            self.by_id.setdefault(cid, value)  # type: ignore[arg-type]
        return cid

    def shown_for(self, cid: int, stage1_share: str, s2_share: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        key = (cid, stage1_share, s2_share)
        shown = self.shown_cache.get(key)
        if shown is None:
            value = self.by_id[cid]
            if value and value[0] == "reserved":
                shown = (UNPREDICTABLE_OUTCOME, tuple(sorted({outcome_code(_render(p, stage1_share.rstrip("+"), s2_share))
                                                              for p in value[1]})))
            else:
                main = _render(value[0], stage1_share.rstrip("+"), s2_share)
                alternative = _render(value[0], "OSH", s2_share) if stage1_share.endswith("+") else main
                shown = (main, () if alternative == main else (outcome_code(alternative),))
            self.shown_cache[key] = shown
        return shown

    def outcome(self, sid: int, stage1: object, s2: int, fnxs: bool,
                controls: Controls, stage1_share: str, s2_share: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return self.shown_for(self.core_id(sid, stage1, s2, fnxs, controls), stage1_share, s2_share)

    def _compute(self, sid: int, stage1: object, s2: int, fnxs: bool,
                 controls: Controls) -> None:
        key = (sid, s2, fnxs)
        if fnxs and key not in self.core:
            # Stage-2 FnXS=1 only clears XS: S2CombineS1MemAttrs takes XS = stage 1 XS AND NOT FnXS, and
            # AArch64.S2ApplyFWBMemAttrs clears it when FnXS is 1 (Write-Back results have XS=0 anyway).
            self._compute(sid, stage1, s2, False, controls)
            plain = (sid, s2, False)
            self.core[key] = None if self.core[plain] is None else tuple(_without_xs(p) for p in self.core[plain])
            if self.core[key] is None:
                self.reserved[key] = tuple(dict.fromkeys(_without_xs(p) for p in self.reserved[plain]))
        if key not in self.core:
            attr2 = self.decoded2[s2].attr
            if isinstance(stage1, Unpredictable):
                # A reserved stage-1 byte: the outcomes are those of the allocated stage-1 outputs it may
                # stand for, each one's own (cached) combination with this stage-2 value, reserved or not.
                self.core[key] = None
                outcomes = []
                choices = self.choice_sids.get(sid)
                if choices is None:
                    choices = self.choice_sids[sid] = [
                        (self.shared.ids.setdefault((choice.memtype, choice.notagaccess), len(self.shared.ids)),
                         choice) for choice in reserved_stage1_choices(stage1, Shareability.ISH, controls)]
                for choice_sid, choice in choices:
                    value = self.by_id[self.core_id(choice_sid, choice, s2, fnxs, controls)]
                    outcomes.extend(value[1] if value[0] == "reserved" else value)  # type: ignore[arg-type]
                self.reserved[key] = tuple(dict.fromkeys(outcomes))  # type: ignore[arg-type]
            elif isinstance(attr2, Unpredictable):
                # A reserved stage-2 value over an allocated stage 1: the outcomes are those of its candidate
                # decodings, which the reserved FWB values share (each candidate is one allocated value).
                self.core[key] = None
                outcomes = []
                for candidate, stand_in in zip(attr2.candidates, self.stand_ins[s2]):
                    if stand_in is not None:  # the candidate is an allocated value's attribute: reuse its row
                        outcomes.extend(self.by_id[self.core_id(sid, stage1, stand_in, fnxs, controls)])  # type: ignore[arg-type]
                        continue
                    done = self.translated.get((sid, candidate, fnxs))
                    if done is None:
                        done = self.translated[(sid, candidate, fnxs)] = _prepare(translate(
                            stage1, candidate, Shareability.ISH, fnxs, controls, self.features))  # type: ignore[arg-type]
                    outcomes.append(done)
                self.reserved[key] = tuple(dict.fromkeys(outcomes))
            else:
                # Both allocated: the translation alone (combine_decoded adds only the explanation).
                self.core[key] = (_prepare(translate(stage1, attr2, Shareability.ISH, fnxs, controls,  # type: ignore[arg-type]
                                                     self.features)),)

    def lines(self, block: Block, fmt: str, s1_values: Iterable[int] = range(256),
              s2_values: Iterable[int] = range(16)) -> Iterator[bytes]:
        """The block's rows as UTF-8 text, one chunk per stage-1 byte and s1_sh (16 s2 x 3 s2_sh x FnXS lines).

        Stage-1 bytes with the same stage-1 output share one chunk, with the stage-1 byte and its
        shareability left as two placeholders: rendering, not the combination, is what costs here.
        """
        controls = block.controls
        out = _OUT[fmt]
        fset = features_text(self.features)
        fixed = f"{int(block.fwb)},{fset}" if fmt == "csv" else f'{int(block.fwb)},"features":"{fset}"'
        tail = (f"{int(block.hcr_cd)},{int(block.hcr_dc)},{int(block.sctlr_c)}" if fmt == "csv" else
                f'{int(block.hcr_cd)},"hcr_dc":{int(block.hcr_dc)},"sctlr_c":{int(block.sctlr_c)}')
        texts = self.texts.setdefault(fmt, {})  # keyed like ``rendered``: no hashing of whole outcomes
        start = _START[fmt]
        chunks: dict[tuple[int, str], bytes] = {}
        s2_values = tuple(s2_values)
        for s1 in s1_values:
            s1_text = f"{s1:#04x}".encode()
            for s1_sh in SH:
                sid, stage1_share, stage1 = self.stage1(s1, s1_sh, controls)
                chunk = chunks.get((sid, stage1_share))
                if chunk is None:
                    parts = []
                    for s2 in s2_values:
                        line_start = start.format(s1="\0", s2=f"{s2:#03x}", fixed=fixed, s1_sh="\1")
                        cid0 = self.core_id(sid, stage1, s2, False, controls)
                        cid1 = self.core_id(sid, stage1, s2, True, controls)
                        for s2_sh in SHAREABILITIES:
                            for fnxs, cid in ((False, cid0), (True, cid1)):
                                text = texts.get((cid, stage1_share, s2_sh))
                                if text is None:
                                    text = texts[(cid, stage1_share, s2_sh)] = out(
                                        self.shown_for(cid, stage1_share, s2_sh))
                                parts.append(f"{line_start}{s2_sh}{_FNXS[fmt][fnxs]}{tail}{text}")
                    chunk = chunks[(sid, stage1_share)] = "".join(parts).encode()
                yield chunk.replace(b"\0", s1_text).replace(b"\1", _SH_BYTES[s1_sh])

    def rows(self, block: Block, s1_values: Iterable[int] = range(256), s2_values: Iterable[int] = range(16),
             sh_pairs: set[tuple[str, str]] | None = None,
             fnxs_values: tuple[bool, ...] = (False, True)) -> Iterator[Row]:
        """The same rows as values (for comparisons and tests), optionally only some (s1_sh, s2_sh) pairs."""
        controls = block.controls
        constant = (str(int(block.fwb)), features_text(self.features))
        tail = (str(int(block.hcr_cd)), str(int(block.hcr_dc)), str(int(block.sctlr_c)))
        s2_values = tuple(s2_values)
        for s1 in s1_values:
            for s1_sh in SH:
                if sh_pairs is not None and not any(pair[0] == s1_sh.value for pair in sh_pairs):
                    continue
                sid, stage1_share, stage1 = self.stage1(s1, s1_sh, controls)
                for s2 in s2_values:
                    for s2_sh in SH:
                        if sh_pairs is not None and (s1_sh.value, s2_sh.value) not in sh_pairs:
                            continue
                        for fnxs in fnxs_values:
                            outcome, allowed = self.outcome(sid, stage1, s2, fnxs, controls, stage1_share,
                                                            s2_sh.value)
                            yield Row((f"{s1:#04x}", f"{s2:#03x}", *constant, s1_sh.value, s2_sh.value,
                                       str(int(fnxs)), *tail), outcome, outcome[0] == "UNPREDICTABLE", allowed)


def block_rows(block: Block, s1_values: Iterable[int] = range(256), s2_values: Iterable[int] = range(16)) -> Iterator[Row]:
    """Every row of one block as values."""
    return BlockEngine(block.features, block.fwb, block.hcr_cd).rows(block, s1_values, s2_values)


def _csv_out(shown: tuple[tuple[str, ...], tuple[str, ...]]) -> str:
    outcome, allowed = shown
    return "," + ",".join(outcome) + ("," + ("1" if outcome[0] == "UNPREDICTABLE" else "0") + ","
                                       + "|".join(allowed)) + "\n"


_JSON_NUMERIC = {"inner_transient", "outer_transient", "xs", "notagaccess"}


def _jsonl_out(shown: tuple[tuple[str, ...], tuple[str, ...]]) -> str:
    outcome, allowed = shown
    parts = []
    for name, value in zip(OUTCOME_COLUMNS, outcome):
        if not value:
            parts.append(f'"{name}":null')
        elif name in _JSON_NUMERIC:
            parts.append(f'"{name}":{value}')
        else:
            parts.append(f'"{name}":"{value}"')
    reserved = int(outcome[0] == "UNPREDICTABLE")
    listing = ",".join(f'"{code}"' for code in allowed)
    return "," + ",".join(parts) + f',"reserved":{reserved},"allowed":[{listing}]}}\n'


_START = {
    "csv": "{s1},{s2},{fixed},{s1_sh},",
    "jsonl": '{{"s1":"{s1}","s2":"{s2}","fwb":{fixed},"s1_sh":"{s1_sh}","s2_sh":"',
}
_FNXS = {"csv": {False: ",0,", True: ",1,"},
         "jsonl": {False: '","fnxs":0,"hcr_cd":', True: '","fnxs":1,"hcr_cd":'}}
_OUT = {"csv": _csv_out, "jsonl": _jsonl_out}


Prepared = tuple[tuple[str, ...], bool]  # (output columns, forced Outer Shareable by EffectiveShareability)


def _without_xs(prepared: Prepared) -> Prepared:
    fields, forced_osh = prepared
    return fields[:8] + ("0",) + fields[9:], forced_osh


def _prepare(result: MemoryAttributes) -> Prepared:
    # EffectiveShareability with a non-OSH input tells whether the type forces Outer Shareable.
    return outcome_fields(result), effective_shareability(result.memtype, Shareability.NSH) is Shareability.OSH


_LARGER = {(a, b): s2_combine_s1_shareability(Shareability(a), Shareability(b)).value
           for a in SHAREABILITIES for b in SHAREABILITIES}


def _render(prepared: Prepared, s1_share: str, s2_share: str) -> tuple[str, ...]:
    """The output columns with this (s1_sh, s2_sh) pair's shareability, derived as the ASL does:
    ``EffectiveShareability(memtype, S2CombineS1Shareability(stage-1 output, stage 2))``."""
    plain, forced_osh = prepared
    return plain[:7] + ("OSH" if forced_osh else _LARGER[(s1_share, s2_share)],) + plain[8:]


# -- writers ------------------------------------------------------------------------------------------

def csv_lines(rows: Iterable[Row]) -> Iterator[str]:
    # No field ever holds a comma, a quote or a newline, so rows are joined, not quoted.
    for row in rows:
        yield ",".join(row.values()) + "\n"


CSV_HEADER = ",".join(EXPECTED_COLUMNS) + "\n"


def jsonl_lines(rows: Iterable[Row]) -> Iterator[str]:
    keys = [f'"{name}":' for name in EXPECTED_COLUMNS]
    numeric = {"fwb", "fnxs", "hcr_cd", "hcr_dc", "sctlr_c", "xs", "notagaccess", "reserved",
               "inner_transient", "outer_transient"}
    for row in rows:
        parts = []
        for key, name, value in zip(keys, EXPECTED_COLUMNS, row.values()):
            if name == "allowed":
                parts.append(key + "[" + ",".join(f'"{code}"' for code in row.allowed) + "]")
            elif name in numeric:
                parts.append(key + (value if value else "null"))
            else:
                parts.append(key + (f'"{value}"' if value else "null"))
        yield "{" + ",".join(parts) + "}\n"


C_ENUMS = {
    "memory_type": ("UNPREDICTABLE", "Device-nGnRnE", "Device-nGnRE", "Device-nGRE", "Device-GRE",
                    *(f"Normal-i{i}-o{o}" for i in ("NC", "WT", "WB") for o in ("NC", "WT", "WB"))),
    "cacheability": ("", "NC", "WT", "WB"),
    "alloc": ("", "No", "RA", "WA", "RWA"),
    "sh": ("", "NSH", "ISH", "OSH"),
    "tags": ("", "Untagged", "Tagged", "CanonicallyTagged"),
}


def c_header(rows: Iterable[Row], guard: str = "MEMATTR_S1S2_VECTORS_H") -> Iterator[str]:
    """A C header: the enums, a struct per row, and the allowed outcomes of reserved rows."""
    yield f"/* Generated by memattr vectors: the ASL-exact stage-1 + stage-2 combination (DDI0487 M.a). */\n"
    yield f"#ifndef {guard}\n#define {guard}\n\n#include <stdint.h>\n\n"
    for name, values in C_ENUMS.items():
        yield f"/* {name}: " + ", ".join(f"{i} = {v or '(none)'}" for i, v in enumerate(values)) + " */\n"
    yield ("\nstruct memattr_outcome {\n\tuint8_t memory_type, inner, inner_alloc, inner_transient, outer, "
           "outer_alloc, outer_transient, sh, xs, tags, notagaccess;\n};\n\n"
           "struct memattr_vector {\n\tuint8_t s1, s2, fwb, features, s1_sh, s2_sh, fnxs, hcr_cd, hcr_dc, sctlr_c;\n"
           "\tstruct memattr_outcome expected;\n\tuint8_t reserved;\n\tuint32_t allowed_first, allowed_count;\n};\n\n"
           "/* features: bit 0 XS, bit 1 MTE2, bit 2 MTE_PERM */\n")
    allowed: list[str] = []
    index: dict[tuple[str, ...], tuple[int, int]] = {}
    yield "static const struct memattr_vector memattr_vectors[] = {\n"
    for row in rows:
        first, count = 0, 0
        if row.reserved:
            if row.allowed not in index:
                index[row.allowed] = (len(allowed), len(row.allowed))
                allowed.extend(row.allowed)
            first, count = index[row.allowed]
        yield f"\t{{{_c_inputs(row.inputs)}, {{{_c_outcome(row.outcome)}}}, {int(row.reserved)}, {first}, {count}}},\n"
    yield "};\n\nstatic const struct memattr_outcome memattr_allowed[] = {\n"
    for code in allowed:
        yield f"\t{{{_c_outcome(tuple(code.split('/')))}}},\n"
    yield "\t{0}\n};\n\n#endif\n"


def _c_inputs(inputs: tuple[str, ...]) -> str:
    s1, s2, fwb, features, s1_sh, s2_sh, fnxs, cd, dc, c = inputs
    mask = sum(1 << bit for bit, name in enumerate(("XS", "MTE2", "MTE_PERM")) if name in features.split("+"))
    sh = C_ENUMS["sh"]
    return f"{s1}, {s2}, {fwb}, {mask}, {sh.index(s1_sh)}, {sh.index(s2_sh)}, {fnxs}, {cd}, {dc}, {c}"


def _c_outcome(outcome: tuple[str, ...]) -> str:
    memory_type, inner, inner_alloc, inner_t, outer, outer_alloc, outer_t, sh, xs, tags, nta = outcome
    return ", ".join(str(v) for v in (
        C_ENUMS["memory_type"].index(memory_type), C_ENUMS["cacheability"].index(inner),
        C_ENUMS["alloc"].index(inner_alloc), inner_t or 0, C_ENUMS["cacheability"].index(outer),
        C_ENUMS["alloc"].index(outer_alloc), outer_t or 0, C_ENUMS["sh"].index(sh), xs or 0,
        C_ENUMS["tags"].index(tags), nta or 0))


FORMATS: dict[str, tuple[str, str, Callable[[Iterable[Row]], Iterator[str]]]] = {
    "csv": (".csv", CSV_HEADER, csv_lines),
    "jsonl": (".jsonl", "", jsonl_lines),
}


def write_feature_file(args: tuple[str, frozenset[str], list[Block], str, int]) -> tuple[str, int]:
    """Write one feature set's rows (all its blocks) to DIRECTORY/<features>.<fmt>.gz; return (path, rows)."""
    directory, features, chosen, fmt, level = args
    suffix, header, _ = FORMATS[fmt]
    path = Path(directory) / f"{features_text(features) or 'none'}{suffix}.gz"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    count = 0
    engines: dict[tuple[bool, bool], BlockEngine] = {}
    shared = Stage1Table()
    try:
        with open(tmp, "wb") as handle:
            # gzip framing (wbits 31) straight from zlib: the rows are already bytes.
            compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
            handle.write(compressor.compress(header.encode()))
            for block in chosen:
                engine = engines.get((block.fwb, block.hcr_cd))
                if engine is None:
                    engine = engines[(block.fwb, block.hcr_cd)] = BlockEngine(features, block.fwb, block.hcr_cd,
                                                                               shared)
                for chunk in engine.lines(block, fmt):
                    count += chunk.count(b"\n")
                    handle.write(compressor.compress(chunk))
            handle.write(compressor.flush())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return str(path), count
