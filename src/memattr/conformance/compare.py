"""Compare an implementation's S1+S2 results with the ASL and classify the differences.

A difference is one input row whose compared columns differ from the ASL's.  Differences are
grouped into classes by which columns differ and by the kinds of input (what stage 1 and stage 2
decode to, FWB and the control bits), so a report reads as a short list of behaviours, each with a
count, up to three example cells, the ASL function and rule that decides it, and whether the
architecture allows the implementation's answer (a reserved input is CONSTRAINED UNPREDICTABLE:
any of its permitted outcomes is allowed).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

from memattr.arch.combine import Controls, combine
from memattr.arch.mair import decode_mair_attr
from memattr.arch.memtypes import Device, MemoryAttributes, Normal, Shareability, Unpredictable
from memattr.arch.stage2 import S2Device, S2FwbNonCacheable, S2FwbStage1, S2FwbWriteBack, S2Normal, decode_s2_memattr
from memattr.conformance.columns import FEATURE_SETS, INPUT_COLUMNS, OUTCOME_COLUMNS, features_text, outcome_fields
from memattr.conformance.profiles import Profile, ProfileInputs
from memattr.conformance.vectors import BlockEngine, Row, blocks
from memattr.errors import MemattrError

IMPLEMENTATION_FEATURES = frozenset({"XS", "MTE2"})  # how an implementation's PAR-style byte is read


def decode_attr(attr: int, shareability: str) -> tuple[str, ...]:
    """The output columns for an implementation that reports a MAIR-format byte and a shareability."""
    memtype = decode_mair_attr(attr, IMPLEMENTATION_FEATURES)
    if isinstance(memtype, Unpredictable):
        return ("UNPREDICTABLE",) + ("",) * 6 + (shareability, "", "", "")
    fields = outcome_fields(MemoryAttributes(memtype, Shareability(shareability)))
    return fields


# Columns grouped into what a reader calls them, for class names.
ASPECTS = {"memory_type": "memory type", "inner": "cacheability", "outer": "cacheability",
           "inner_alloc": "allocation hints", "outer_alloc": "allocation hints", "inner_transient": "transient hint",
           "outer_transient": "transient hint", "shareability": "shareability", "xs": "XS", "tags": "tags",
           "notagaccess": "NoTagAccess"}
ASPECT_ORDER = ("memory type", "cacheability", "allocation hints", "transient hint", "shareability", "XS", "tags",
                "NoTagAccess")
CONTROL_NAMES = ("HCR_EL2.CD=1", "HCR_EL2.DC=1", "SCTLR_EL1.C=0")


@dataclass
class DiffClass:
    key: tuple[Any, ...]
    columns: tuple[str, ...]
    title: str
    count: int = 0
    allowed: int = 0  # differences the architecture permits (reserved inputs)
    examples: list[dict[str, Any]] = field(default_factory=list)
    decided_by: str = ""
    controls: dict[str, int] = field(default_factory=dict)  # cells per control bit that was set

    @property
    def description(self) -> str:
        only = [name for name in CONTROL_NAMES if self.controls.get(name) == self.count]
        return self.title + (f", only with {' and '.join(only)}" if only else "")

    @property
    def verdict(self) -> str:
        if self.allowed == self.count:
            return "allowed (CONSTRAINED UNPREDICTABLE)"
        if self.allowed:
            return f"not allowed ({self.count - self.allowed} of {self.count}; the rest are permitted choices)"
        return "not allowed"

    def to_json(self) -> dict[str, Any]:
        return {"class": self.description, "columns": list(self.columns), "count": self.count,
                "allowed": self.allowed, "verdict": self.verdict, "decided_by": self.decided_by,
                "cells_with_controls": dict(self.controls), "examples": self.examples}


@dataclass
class Report:
    implementation: str
    compared_columns: tuple[str, ...]
    rows: int = 0
    classes: dict[tuple[Any, ...], DiffClass] = field(default_factory=dict)

    @property
    def differences(self) -> int:
        return sum(c.count for c in self.classes.values())

    @property
    def real_differences(self) -> int:
        return sum(c.count - c.allowed for c in self.classes.values())

    def to_json(self) -> dict[str, Any]:
        return {"implementation": self.implementation, "rows": self.rows,
                "compared_columns": list(self.compared_columns), "differences": self.differences,
                "real_differences": self.real_differences,
                "classes": [c.to_json() for c in self.sorted_classes()]}

    def sorted_classes(self) -> list[DiffClass]:
        # Differences on allocated inputs first, then those on reserved inputs, permitted choices last.
        return sorted(self.classes.values(),
                      key=lambda c: (c.allowed == c.count, c.key[-1], -(c.count - c.allowed), c.description))


def _s1_kind(s1: int, features: frozenset[str]) -> str:
    memtype = decode_mair_attr(s1, features)
    if isinstance(memtype, Unpredictable):
        return "reserved"
    if isinstance(memtype, Device):
        return "Device" + ("" if memtype.xs else " XS=0")
    assert isinstance(memtype, Normal)
    if memtype.tags.value != "Untagged":
        return "Normal Tagged"
    if not memtype.xs and not memtype.write_back:
        return "Normal XS=0"
    if memtype.non_cacheable:
        return "Normal-NC"
    return "Normal cacheable"


def _s2_kind(s2: int, fwb: bool, features: frozenset[str]) -> str:
    attr = decode_s2_memattr(s2, fwb=fwb, features=features).attr
    if isinstance(attr, Unpredictable):
        return "reserved"
    if fwb and s2 & 0b1000 and "MTE_PERM" not in features:
        return f"{_s2_kind(s2 & 0b0111, fwb, features)} (MemAttr[3]=1, RES0 without FEAT_MTE_PERM)"
    if isinstance(attr, S2Device):
        return "Device"
    if isinstance(attr, S2Normal):
        levels = {attr.inner.value, attr.outer.value}
        return "Normal-" + (levels.pop() if len(levels) == 1 else "mixed")
    return {S2FwbNonCacheable: "FWB Non-cacheable", S2FwbWriteBack: "FWB Write-Back",
            S2FwbStage1: "FWB use stage 1"}[type(attr)]


def _decided_by(inputs: dict[str, Any], columns: tuple[str, ...]) -> str:
    """The ASL function and rule that decide the differing columns, from the ASL chain of one example."""
    result = combine(inputs["s1"], inputs["s2"], s1_shareability=Shareability(inputs["s1_sh"]),
                     s2_shareability=Shareability(inputs["s2_sh"]), s2_fnxs=inputs["fnxs"],
                     controls=Controls(fwb=inputs["fwb"], hcr_cd=inputs["hcr_cd"], hcr_dc=inputs["hcr_dc"],
                                       sctlr_c=inputs["sctlr_c"]), features=inputs["features"])
    steps = list(result.explanation)
    if columns == ("shareability",):
        chosen = [s for s in steps if s.rule == "EffectiveShareability"]
    else:
        chosen = [s for s in steps if s.rule in ("S2CombineS1Device", "S2CombineS1MemAttrs", "S2CombineS1AttrHints",
                                                 "AArch64.S2ApplyFWBMemAttrs", "AArch64.S2Translate",
                                                 "ConstrainUnpredictable", "S1DecodeMemAttrs")]
        chosen = [s for s in chosen if s.rule != "AArch64.S2ApplyFWBMemAttrs" or "MemAttr[" in s.text] or chosen
    step = chosen[-1] if chosen else steps[-1]
    return f"{step.rule} ({step.source}): {step.text}"


class Comparator:
    """Accumulates differences between expected rows and an implementation's outcomes."""

    def __init__(self, implementation: str, columns: tuple[str, ...]) -> None:
        unknown = set(columns) - set(OUTCOME_COLUMNS)
        if unknown:
            raise MemattrError(f"unknown output column(s) {', '.join(sorted(unknown))}",
                               expected=", ".join(OUTCOME_COLUMNS))
        self.columns = columns
        self.indexes = tuple(OUTCOME_COLUMNS.index(c) for c in columns)
        self.report = Report(implementation, columns)

    def add(self, expected: Row, actual: tuple[str, ...]) -> None:
        """``actual`` holds every OUTCOME_COLUMNS value (ignored columns may be anything)."""
        self.report.rows += 1
        want = tuple(expected.outcome[i] for i in self.indexes)
        got = tuple(actual[i] for i in self.indexes)
        if want == got:
            return  # equal, or both say UNPREDICTABLE
        allowed = False
        if not expected.reserved and expected.allowed:
            # The IMPLEMENTATION DEFINED choice of RNSCNC: a permitted answer, no difference.
            if got in {tuple(code.split("/")[i] for i in self.indexes) for code in expected.allowed}:
                return
        if expected.reserved:
            # A reserved input: any outcome the constrained-unpredictable choices permit is allowed.
            permitted = {tuple(code.split("/")[i] for i in self.indexes) for code in expected.allowed}
            allowed = got in permitted
        differing = tuple(c for c, w, g in zip(self.columns, want, got) if w != g) or ("memory_type",)
        aspects = tuple(a for a in ASPECT_ORDER if a in {ASPECTS[c] for c in differing})
        inputs = _inputs_of(expected)
        features = inputs["features"]
        s1_kind = _s1_kind(inputs["s1"], features)
        s2_kind = _s2_kind(inputs["s2"], inputs["fwb"], features)
        key = (aspects, s1_kind, s2_kind, inputs["fwb"], expected.reserved)
        entry = self.report.classes.get(key)
        if entry is None:
            title = (f"{', '.join(aspects)} differ{'s' if len(aspects) == 1 else ''}: stage 1 {s1_kind}, "
                     f"stage 2 {s2_kind}, FWB={int(inputs['fwb'])}")
            entry = self.report.classes[key] = DiffClass(key, differing, title)
            entry.decided_by = _decided_by(inputs, differing)
        entry.count += 1
        entry.allowed += int(allowed)
        for name, flag in (("HCR_EL2.CD=1", inputs["hcr_cd"]), ("HCR_EL2.DC=1", inputs["hcr_dc"]),
                           ("SCTLR_EL1.C=0", not inputs["sctlr_c"])):
            if flag:
                entry.controls[name] = entry.controls.get(name, 0) + 1
        seen = {(e["inputs"]["s1"], e["inputs"]["s2"]) for e in entry.examples}
        if len(entry.examples) < 3 and (expected.inputs[0], expected.inputs[1]) not in seen:
            entry.examples.append({
                "inputs": dict(zip(INPUT_COLUMNS, expected.inputs)),
                "asl": dict(zip(self.columns, want)) if not expected.reserved else {"allowed": list(expected.allowed)},
                "implementation": dict(zip(self.columns, got)),
            })


def _inputs_of(row: Row) -> dict[str, Any]:
    s1, s2, fwb, features, s1_sh, s2_sh, fnxs, cd, dc, c = row.inputs
    return {"s1": int(s1, 16), "s2": int(s2, 16), "fwb": fwb == "1",
            "features": frozenset(f for f in features.split("+") if f), "s1_sh": s1_sh, "s2_sh": s2_sh,
            "fnxs": fnxs == "1", "hcr_cd": cd == "1", "hcr_dc": dc == "1", "sctlr_c": c == "1"}


# -- profiles ----------------------------------------------------------------------------------------

DEFAULT_PROFILE_FEATURES = (frozenset(), frozenset({"XS", "MTE2", "MTE_PERM"}))
DEFAULT_PROFILE_SHAREABILITY = (("NSH", "NSH"), ("ISH", "ISH"))


def compare_profile(profile: Profile, features: Iterable[frozenset[str]] = DEFAULT_PROFILE_FEATURES,
                    shareability: Iterable[tuple[str, str]] = DEFAULT_PROFILE_SHAREABILITY,
                    progress: Callable[[int], None] | None = None) -> Report:
    """Every cell of the profile's domain (restricted to ``features`` and ``shareability`` pairs)."""
    comparator = Comparator(f"{profile.name} ({profile.version})", profile.columns)
    pairs = set(shareability)
    domain = profile.domain
    fnxs_values = tuple(domain.get("fnxs", (False, True)))  # type: ignore[arg-type]
    engines: dict[tuple[frozenset[str], bool, bool], BlockEngine] = {}
    for block in blocks(features=tuple(features), sctlr_c=domain.get("sctlr_c", (True, False))):  # type: ignore[arg-type]
        engine = engines.get((block.features, block.fwb, block.hcr_cd))
        if engine is None:
            engine = engines[(block.features, block.fwb, block.hcr_cd)] = BlockEngine(
                block.features, block.fwb, block.hcr_cd)
        cache: dict[tuple[int, int, str, str], tuple[str, ...]] = {}
        for row in engine.rows(block, sh_pairs=pairs, fnxs_values=fnxs_values):  # type: ignore[arg-type]
            s1_text, s2_text, _, _, s1_sh, s2_sh, fnxs, _, _, _ = row.inputs
            key = (int(s1_text, 16), int(s2_text, 16), s1_sh, s2_sh)
            actual = cache.get(key)
            if actual is None:
                attr, share = profile.compute(ProfileInputs(
                    key[0], key[1], block.fwb, block.features, s1_sh, s2_sh, fnxs == "1", block.hcr_cd,
                    block.hcr_dc, block.sctlr_c))
                actual = cache[key] = decode_attr(attr, share)
            comparator.add(row, actual)
        if progress:
            progress(1)
    return comparator.report


def profile_cell(profile: Profile, inputs: ProfileInputs) -> tuple[int, tuple[str, ...]]:
    attr, share = profile.compute(inputs)
    return attr, decode_attr(attr, share)


# -- implementation CSV files -----------------------------------------------------------------------

def parse_implementation(text: str, source: str) -> tuple[tuple[str, ...], dict[tuple[str, ...], tuple[str, ...]]]:
    """An implementation's CSV: input columns (some may be omitted: defaults are FWB 0, no features,
    ISH/ISH, FnXS 0, HCR_EL2.CD/DC 0, SCTLR_EL1.C 1) and output columns, or ``attr`` + ``shareability``."""
    lines = text.splitlines()
    if not lines:
        raise MemattrError("empty file", source=source, expected="a CSV header line")
    header = [h.strip() for h in lines[0].split(",")]
    if len(set(header)) != len(header):
        raise MemattrError("a column is named twice", source=source, line=1)
    unknown = set(header) - set(INPUT_COLUMNS) - set(OUTCOME_COLUMNS) - {"attr", "reserved", "allowed"}
    if unknown:
        raise MemattrError(f"unknown column(s) {', '.join(sorted(unknown))}", source=source, line=1,
                           expected=f"columns among {', '.join(INPUT_COLUMNS + OUTCOME_COLUMNS)}, attr")
    for required in ("s1", "s2"):
        if required not in header:
            raise MemattrError(f"no {required} column", source=source, line=1, expected="s1 and s2 input columns")
    by_attr = "attr" in header
    compared = tuple(c for c in OUTCOME_COLUMNS if c in header and not (by_attr and c != "shareability"))
    if by_attr:
        compared = tuple(c for c in OUTCOME_COLUMNS if c not in ("xs", "notagaccess", "tags")
                         and (c != "shareability" or "shareability" in header))
    if not compared:
        raise MemattrError("no output column", source=source, line=1,
                           expected=f"some of {', '.join(OUTCOME_COLUMNS)}, or attr")
    defaults = {"fwb": "0", "features": "", "s1_sh": "ISH", "s2_sh": "ISH", "fnxs": "0", "hcr_cd": "0",
                "hcr_dc": "0", "sctlr_c": "1"}
    rows: dict[tuple[str, ...], tuple[str, ...]] = {}
    for number, raw in enumerate(lines[1:], start=2):
        if not raw.strip():
            continue
        cells = [c.strip() for c in raw.split(",")]
        if len(cells) != len(header):
            raise MemattrError(f"{len(cells)} cells in a row of {len(header)} columns", source=source, line=number)
        values = dict(zip(header, cells))
        try:
            key = _normal_inputs({**defaults, **{k: v for k, v in values.items() if k in INPUT_COLUMNS}})
        except ValueError as error:
            raise MemattrError(str(error), source=source, line=number,
                               expected="inputs as memattr vectors writes them") from None
        if by_attr:
            try:
                attr = int(values["attr"], 16)
            except ValueError:
                attr = -1
            if not 0 <= attr <= 0xFF or len(values["attr"]) > 6:
                raise MemattrError(f"bad attr {values['attr'][:20]!r}", source=source, line=number,
                                   expected="a MAIR-format byte such as 0x44")
            share = values.get("shareability", "ISH")
            if share not in ("NSH", "ISH", "OSH"):
                raise MemattrError(f"bad shareability {share[:20]!r}", source=source, line=number,
                                   expected="NSH, ISH or OSH")
            outcome = decode_attr(attr, share)
        else:
            outcome = tuple(values.get(c, "") for c in OUTCOME_COLUMNS)
        if key in rows:
            raise MemattrError("the same inputs appear twice", source=source, line=number)
        rows[key] = outcome
    if not rows:
        raise MemattrError("no rows", source=source, expected="one row per input cell")
    return compared, rows


def _normal_inputs(values: dict[str, str]) -> tuple[str, ...]:
    s1 = int(values["s1"], 16) if len(values["s1"]) <= 6 else -1
    s2 = int(values["s2"], 16) if len(values["s2"]) <= 6 else -1
    if not 0 <= s1 <= 0xFF or not 0 <= s2 <= 0xF:
        raise ValueError("s1 must be 0x00..0xff and s2 0x0..0xf")
    from memattr.conformance.columns import parse_features_text

    features = features_text(parse_features_text(values["features"]))
    for name in ("fwb", "fnxs", "hcr_cd", "hcr_dc", "sctlr_c"):
        if values[name] not in ("0", "1"):
            raise ValueError(f"{name} must be 0 or 1")
    for name in ("s1_sh", "s2_sh"):
        if values[name] not in ("NSH", "ISH", "OSH"):
            raise ValueError(f"{name} must be NSH, ISH or OSH")
    return (f"{s1:#04x}", f"{s2:#03x}", values["fwb"], features, values["s1_sh"], values["s2_sh"], values["fnxs"],
            values["hcr_cd"], values["hcr_dc"], values["sctlr_c"])


def compare_implementation(name: str, compared: tuple[str, ...],
                           rows: dict[tuple[str, ...], tuple[str, ...]]) -> Report:
    """Compare every given row with the ASL (the rows may cover any part of the space)."""
    comparator = Comparator(name, compared)
    wanted: dict[tuple[str, bool, bool, bool, bool], set[tuple[str, ...]]] = {}
    for key in rows:
        _, _, fwb, features, _, _, _, cd, dc, c = key
        wanted.setdefault((features, fwb == "1", cd == "1", dc == "1", c == "1"), set()).add(key)
    for (features, fwb, cd, dc, c), keys in sorted(wanted.items()):
        from memattr.conformance.columns import parse_features_text
        from memattr.conformance.vectors import Block

        block = Block(parse_features_text(features), fwb, cd, dc, c)
        s1_values = sorted({int(k[0], 16) for k in keys})
        s2_values = sorted({int(k[1], 16) for k in keys})
        for row in BlockEngine(block.features, fwb, cd).rows(block, s1_values, s2_values):
            if row.inputs in keys:
                comparator.add(row, rows[row.inputs])
    return comparator.report


# -- rendering ---------------------------------------------------------------------------------------

def _example_text(example: dict[str, Any]) -> str:
    i = example["inputs"]
    where = (f"s1={i['s1']} s2={i['s2']} FWB={i['fwb']}" + (f" features={i['features']}" if i["features"] else "")
             + f" sh={i['s1_sh']}/{i['s2_sh']}" + (" FnXS" if i["fnxs"] == "1" else "") + (" CD" if i["hcr_cd"] == "1" else "")
             + (" DC" if i["hcr_dc"] == "1" else "") + (" C=0" if i["sctlr_c"] == "0" else ""))
    asl = example["asl"]
    asl_text = (" | ".join(asl["allowed"][:3]) + (" ..." if len(asl["allowed"]) > 3 else "")) if "allowed" in asl \
        else _outcome_text(asl)
    return f"{where}: ASL {asl_text}; implementation {_outcome_text(example['implementation'])}"


def _outcome_text(values: dict[str, str]) -> str:
    parts = [values.get("memory_type", "")]
    for level in ("inner", "outer"):
        alloc = values.get(f"{level}_alloc")
        if alloc:
            parts.append(f"{level} {values.get(level)} {alloc}{' T' if values.get(f'{level}_transient') == '1' else ''}")
    for name in ("shareability", "xs", "tags"):
        if values.get(name):
            parts.append(f"{name}={values[name]}")
    return " ".join(p for p in parts if p)


def render_markdown(report: Report) -> str:
    lines = [f"# Conformance of {report.implementation} with the ASL", "",
             f"{report.rows:,} cells compared on {', '.join(report.compared_columns)}; "
             f"{report.differences:,} differ, {report.real_differences:,} of them not permitted by the architecture.",
             ""]
    for entry in report.sorted_classes():
        lines += [f"## {entry.description}", "", f"- cells: {entry.count:,}", f"- verdict: {entry.verdict}",
                  f"- decided by: {entry.decided_by}", "- examples:"]
        lines += [f"  - {_example_text(e)}" for e in entry.examples]
        lines.append("")
    return "\n".join(lines)


def render_text_rows(report: Report) -> Iterator[tuple[str, str, str, str]]:
    for entry in report.sorted_classes():
        yield (entry.description, f"{entry.count:,}", entry.verdict,
               "\n".join(_example_text(e) for e in entry.examples) + f"\n[{entry.decided_by}]")


def all_feature_sets() -> tuple[frozenset[str], ...]:
    return FEATURE_SETS


def all_shareability_pairs() -> tuple[tuple[str, str], ...]:
    return tuple(itertools.product(("NSH", "ISH", "OSH"), repeat=2))
