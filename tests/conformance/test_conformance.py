"""The conformance kit: vectors equal the full combination, the comparison finds and classifies every
kind of difference, and the QEMU and KVM profiles reproduce the differences read in their source."""

from __future__ import annotations

import json
import random
import shutil
import subprocess

import pytest

from memattr.arch.combine import Controls, combine
from memattr.arch.memtypes import MemoryAttributes, Shareability
from memattr.conformance.columns import EXPECTED_COLUMNS, FEATURE_SETS, OUTCOME_COLUMNS, outcome_code, outcome_fields
from memattr.conformance.compare import compare_implementation, compare_profile, parse_implementation
from memattr.conformance.profiles import PROFILES, ProfileInputs
from memattr.conformance.compare import profile_cell
from memattr.conformance.vectors import Block, BlockEngine, blocks, csv_lines

# Stage-1 bytes that cover every decoding class: Device (XS=1 and XS=0), reserved Device, Normal NC/WT/WB
# with every hint and transient form, mixed inner/outer, the XS=0 Normal encodings and the Tagged one.
S1_SAMPLE = (0x00, 0x01, 0x02, 0x04, 0x05, 0x08, 0x0C, 0x0D, 0x10, 0x11, 0x15, 0x16, 0x1F, 0x40, 0x44, 0x48,
             0x4F, 0x51, 0x77, 0x88, 0xA0, 0xAA, 0xBB, 0xC4, 0xCC, 0xEE, 0xF0, 0xF4, 0xFF)


def _full(row_inputs: tuple[str, ...], features: frozenset[str], effective: bool = False):  # type: ignore[no-untyped-def]
    s1, s2, fwb, _, s1_sh, s2_sh, fnxs, cd, dc, c = row_inputs
    return combine(int(s1, 16), int(s2, 16), s1_shareability=Shareability(s1_sh),
                   s2_shareability=Shareability(s2_sh), s2_fnxs=fnxs == "1", features=features,
                   controls=Controls(fwb=fwb == "1", hcr_cd=cd == "1", hcr_dc=dc == "1", sctlr_c=c == "1",
                                     s1_effective_shareability=effective))


def _check_block(block: Block, s1_values) -> None:  # type: ignore[no-untyped-def]
    for row in BlockEngine(block.features, block.fwb, block.hcr_cd).rows(block, s1_values):
        result = _full(row.inputs, block.features)
        if isinstance(result.result, MemoryAttributes):
            assert row.outcome == outcome_fields(result.result), row.inputs
            assert not row.reserved
            alternative = _full(row.inputs, block.features, effective=True).result
            expected_alternatives = {outcome_code(outcome_fields(alternative))} - {outcome_code(row.outcome)}
            assert set(row.allowed) == expected_alternatives, row.inputs
        else:
            assert row.reserved and row.outcome[0] == "UNPREDICTABLE"
            assert set(row.allowed) == {outcome_code(outcome_fields(p)) for p in result.possible}, row.inputs


def test_vectors_equal_the_full_combination_on_sampled_blocks():
    """Each row is what combine() gives for its inputs (the factored shareability and FnXS included)."""
    rng = random.Random(11)
    chosen = rng.sample(blocks(), 6)
    for block in chosen:
        _check_block(block, rng.sample(S1_SAMPLE, 5))


@pytest.mark.slow
def test_vectors_equal_the_full_combination_on_every_block():
    for block in blocks():
        _check_block(block, S1_SAMPLE)


def test_space_size_and_columns():
    assert len(blocks()) == 8 * 16
    assert len(FEATURE_SETS) == 8
    block = blocks()[0]
    rows = list(BlockEngine(block.features, block.fwb, block.hcr_cd).rows(block))
    assert len(rows) == 256 * 16 * 9 * 2
    assert len(EXPECTED_COLUMNS) == len(rows[0].values())


# -- comparing a CSV ------------------------------------------------------------------------------------

def _vectors_csv(block: Block, s1_values=(0x00, 0x05, 0x15, 0x40, 0x44, 0xF0, 0xFF, 0x10)) -> str:  # type: ignore[no-untyped-def]
    engine = BlockEngine(block.features, block.fwb, block.hcr_cd)
    return ",".join(EXPECTED_COLUMNS) + "\n" + "".join(csv_lines(engine.rows(block, s1_values)))


def _compare(text: str):  # type: ignore[no-untyped-def]
    compared, rows = parse_implementation(text, "impl.csv")
    return compare_implementation("impl.csv", compared, rows)


BLOCK = Block(frozenset({"XS", "MTE2"}), False, False, False, True)


def test_the_vectors_themselves_conform():
    report = _compare(_vectors_csv(BLOCK))
    assert report.rows == 8 * 16 * 18 and report.differences == 0


def _mutate(text: str, predicate, column: str, value: str) -> str:  # type: ignore[no-untyped-def]
    lines = text.splitlines()
    header = lines[0].split(",")
    index = header.index(column)
    out, done = [lines[0]], 0
    for line in lines[1:]:
        cells = line.split(",")
        row = dict(zip(header, cells))
        if predicate(row) and cells[index] != value:
            cells[index] = value
            done += 1
        out.append(",".join(cells))
    assert done, "the mutation changed nothing"
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("predicate,column,value,aspect", [
    (lambda r: r["s1"] == "0x00" and r["s2"] == "0x1", "memory_type", "Device-nGnRE", "memory type"),
    (lambda r: r["s1"] == "0xff" and r["s2"] == "0xf" and r["s1_sh"] == "ISH", "shareability", "OSH", "shareability"),
    (lambda r: r["s1"] == "0x15" and r["s2"] == "0xa", "inner_transient", "0", "transient hint"),
    (lambda r: r["s1"] == "0xff" and r["s2"] == "0xf", "inner_alloc", "RA", "allocation hints"),
    (lambda r: r["s1"] == "0x05" and r["s2"] == "0x2", "xs", "1", "XS"),
    (lambda r: r["s1"] == "0xf0" and r["s2"] == "0xf", "tags", "Untagged", "tags"),
    (lambda r: r["s1"] == "0x44" and r["s2"] == "0xf", "outer", "WB", "cacheability"),
])
def test_each_kind_of_mutation_is_detected_and_classified(predicate, column, value, aspect):
    report = _compare(_mutate(_vectors_csv(BLOCK), predicate, column, value))
    assert report.real_differences > 0
    assert any(aspect in c.description and c.verdict == "not allowed" for c in report.classes.values()), \
        [c.description for c in report.classes.values()]
    entry = next(c for c in report.classes.values() if aspect in c.description)
    assert entry.examples and entry.decided_by


def test_reserved_inputs_accept_any_permitted_outcome_and_nothing_else():
    text = _vectors_csv(BLOCK)
    # s1=0x10 is reserved without... (it is reserved in every feature set): a permitted outcome is allowed.
    lines = text.splitlines()
    header = lines[0].split(",")
    out = [lines[0]]
    for line in lines[1:]:
        row = dict(zip(header, line.split(",")))
        if row["s1"] == "0x10" and row["s2"] == "0xf":
            permitted = row["allowed"].split("|")[0].split("/")
            cells = line.split(",")
            for name, value in zip(("memory_type", "inner", "inner_alloc", "inner_transient", "outer", "outer_alloc",
                                    "outer_transient", "shareability", "xs", "tags", "notagaccess"), permitted):
                cells[header.index(name)] = value
            line = ",".join(cells)
        out.append(line)
    report = _compare("\n".join(out) + "\n")
    assert report.differences > 0 and report.real_differences == 0
    assert all(c.verdict.startswith("allowed") for c in report.classes.values())
    bad = _mutate(text, lambda r: r["s1"] == "0x10" and r["s2"] == "0xf", "memory_type", "Device-nGnRnE")
    report = _compare(bad)
    assert report.real_differences > 0


def test_attr_form_and_defaults(tmp_path, run):
    path = tmp_path / "impl.csv"
    path.write_text("s1,s2,fwb,attr,shareability\n0x00,0x1,1,0x00,OSH\n0x44,0x6,0,0x44,OSH\n0x15,0x6,0,0x41,ISH\n")
    result = run("conformance", str(path), "--format", "json")
    assert result.code == 0, result.out
    path.write_text("s1,s2,fwb,attr,shareability\n0x00,0x1,1,0x04,OSH\n")
    result = run("conformance", str(path), "--format", "json")
    assert result.code == 1 and result.json()["real_differences"] == 1


@pytest.mark.parametrize("text,where", [
    ("s1,s2,colour\n0x00,0x1,red\n", ":1:"),
    ("s1,s2,memory_type\n0x00,0x1\n", ":2:"),
    ("s1,s2,memory_type\n0x100,0x1,Device-nGnRnE\n", ":2:"),
    ("s1,memory_type\n0x00,Device-nGnRnE\n", ":1:"),
])
def test_bad_implementation_csv_is_one_clear_error(tmp_path, run, text, where):
    path = tmp_path / "impl.csv"
    path.write_text(text)
    result = run("conformance", str(path))
    assert result.code == 2 and f"{path}{where}" in result.err


# -- the profiles ---------------------------------------------------------------------------------------

def _cell(name: str, s1: int, s2: int, *, fwb: bool = False, cd: bool = False, features=frozenset(),
          sh=("ISH", "ISH"), sctlr_c: bool = True):  # type: ignore[no-untyped-def]
    return profile_cell(PROFILES[name], ProfileInputs(s1, s2, fwb, frozenset(features), sh[0], sh[1], False, cd,
                                                      False, sctlr_c))


def _asl(s1: int, s2: int, *, fwb: bool = False, cd: bool = False, features=frozenset(),
         sctlr_c: bool = True):  # type: ignore[no-untyped-def]
    return combine(s1, s2, controls=Controls(fwb=fwb, hcr_cd=cd, sctlr_c=sctlr_c),
                   features=frozenset(features)).result


def test_qemu_fwb_stage2_device_replaces_a_stronger_stage1_device():
    attr, fields = _cell("qemu", 0x00, 0x1, fwb=True)
    assert (attr, fields[0]) == (0x04, "Device-nGnRE")
    assert _asl(0x00, 0x1, fwb=True).memtype.short_name == "Device-nGnRnE"


def test_qemu_stage2_wt_loses_the_transient_hint():
    attr, fields = _cell("qemu", 0x15, 0x6)
    assert attr == 0x49 and fields[3] == "0"  # inner WT, non-transient
    asl = _asl(0x15, 0x6)
    assert asl.memtype.inner.cacheability.value == "WT" and asl.memtype.inner.transient


def test_qemu_reads_the_normal_inner_nibble_as_a_device_type():
    attr, fields = _cell("qemu", 0x08, 0x5)
    assert (attr, fields[0]) == (0x04, "Device-nGnRE")
    assert _asl(0x08, 0x5).memtype.short_name == "Device-nGRE"


def test_qemu_fwb_ignores_hcr_cd():
    attr, fields = _cell("qemu", 0xFF, 0x7, fwb=True, cd=True)
    assert fields[0] == "Normal-iWB-oWB"
    assert _asl(0xFF, 0x7, fwb=True, cd=True).memtype.short_name == "Normal-iNC-oNC"


def test_qemu_ignores_sctlr_c():
    # ptw.c never reads SCTLR_ELx.C: a stage-1 Normal Write-Back byte stays Write-Back with C=0.
    attr, fields = _cell("qemu", 0xFF, 0xF, sctlr_c=False)
    assert fields[0] == "Normal-iWB-oWB"
    assert _asl(0xFF, 0xF, sctlr_c=False).memtype.short_name == "Normal-iNC-oNC"
    assert _cell("kvm-at", 0xFF, 0xF, sctlr_c=False)[1][0] == "Normal-iNC-oNC"  # compute_par_s1() applies it
    report = compare_profile(PROFILES["qemu"], features=[frozenset()], shareability=[("ISH", "ISH")])
    assert any(c.description.endswith("only with SCTLR_EL1.C=0") and c.verdict == "not allowed"
               for c in report.sorted_classes())


def test_qemu_under_decodes_feat_xs():
    attr, fields = _cell("qemu", 0x05, 0x2, features={"XS"})
    assert (attr, fields[0]) == (0x08, "Device-nGRE")
    assert _asl(0x05, 0x2, features={"XS"}).memtype.short_name == "Device-nGnRE"


def test_kvm_at_wb_transient_over_stage2_wt():
    attr, fields = _cell("kvm-at", 0x15, 0x6)
    assert attr == 0x45 and fields[1] == "WB" and fields[3] == "1"
    asl = _asl(0x15, 0x6)
    assert asl.memtype.inner.cacheability.value == "WT" and asl.memtype.inner.transient


def test_kvm_at_fwb_0b110_always_reports_wb_rwa():
    attr, fields = _cell("kvm-at", 0x15, 0x6, fwb=True)
    assert attr == 0xFF and fields[2] == "RWA" and fields[3] == "0"
    asl = _asl(0x15, 0x6, fwb=True)
    assert asl.memtype.inner.hints.value == "WA" and asl.memtype.inner.transient  # stage 1's hints kept


def test_kvm_at_fwb_0b110_drops_the_tagged_attribute():
    attr, fields = _cell("kvm-at", 0xF0, 0x6, fwb=True, features={"MTE2"})
    assert attr == 0xFF and fields[OUTCOME_COLUMNS.index("tags")] == "Untagged"
    assert _asl(0xF0, 0x6, fwb=True, features={"MTE2"}).memtype.tags.value == "Tagged"
    assert _cell("kvm-at", 0xF0, 0x7, fwb=True, features={"MTE2"})[1][OUTCOME_COLUMNS.index("tags")] == "Tagged"  # 0b111 passes it on


def test_kvm_at_agrees_where_qemu_does_not():
    assert _cell("kvm-at", 0x08, 0x5)[1][0] == "Device-nGRE"
    assert _cell("kvm-at", 0x00, 0x1, fwb=True)[1][0] == "Device-nGnRnE"


def test_combine_as_profile(run):
    data = run("combine", "--s1", "0x00", "--s2", "0x1", "--fwb", "--as", "qemu", "--json").json()
    assert data["implementation"]["memory_type"] == "Device-nGnRE" and data["implementation"]["agrees"] is False
    data = run("combine", "--s1", "0x44", "--s2", "0x6", "--as", "kvm-at", "--json").json()
    assert data["implementation"]["agrees"] is True


def test_conformance_profile_report(run):
    result = run("conformance", "--profile", "kvm-at", "--features", "none", "--format", "json")
    assert result.code == 1
    data = result.json()
    assert data["real_differences"] > 0
    assert any("transient hint" in c["class"] and "Normal" in c["class"] for c in data["classes"])


@pytest.mark.skipif(not shutil.which("cc"), reason="no C compiler")
def test_c_header_compiles(tmp_path, run):
    header = tmp_path / "vectors.h"
    result = run("vectors", "-o", str(header), "--format", "c", "--features", "XS", "--fwb", "1", "--hcr-cd", "0",
                 "--hcr-dc", "0", "--sctlr-c", "1")
    assert result.code == 0, result.err
    source = tmp_path / "t.c"
    source.write_text(f'#include "{header}"\nint main(void) {{ return sizeof(memattr_vectors) / '
                      f'sizeof(memattr_vectors[0]) == 73728 ? 0 : 1; }}\n')
    subprocess.run(["cc", "-o", str(tmp_path / "t"), str(source)], check=True)
    assert subprocess.run([str(tmp_path / "t")]).returncode == 0


def test_vectors_jsonl_lines_are_json(tmp_path, run):
    result = run("vectors", "-o", str(tmp_path), "--format", "jsonl", "--features", "none", "--fwb", "0",
                 "--hcr-cd", "0", "--hcr-dc", "1", "--sctlr-c", "1", "--jobs", "1")
    assert result.code == 0, result.err
    import gzip

    with gzip.open(tmp_path / "none.jsonl.gz", "rt") as handle:
        first = json.loads(handle.readline())
        count = 1 + sum(1 for _ in handle)
    assert count == 73728 and first["s1"] == "0x00" and first["hcr_dc"] == 1


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_vectors_files_equal_the_rows_rendered_one_by_one(tmp_path, fmt):
    """The fast writer (shared chunks, placeholders, raw zlib) gives byte for byte what the row path gives."""
    import gzip

    from memattr.conformance.vectors import FORMATS, write_feature_file

    features = frozenset({"XS", "MTE2"})
    chosen = [b for b in blocks(features=[features]) if (b.hcr_dc, b.sctlr_c) in ((False, True), (True, False))
              or (b.fwb and b.hcr_cd and not b.hcr_dc)]
    path, count = write_feature_file((str(tmp_path), features, chosen, fmt, 1))
    suffix, header, render = FORMATS[fmt]
    expected = header + "".join(
        "".join(render(BlockEngine(block.features, block.fwb, block.hcr_cd).rows(block))) for block in chosen)
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        assert handle.read() == expected
    assert count == len(chosen) * 73728
