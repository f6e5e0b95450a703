"""The whole catalogue against litmus/kinds.txt (verdicts of the Arm model, written independently)."""

from __future__ import annotations

from pathlib import Path

import pytest

from memattr.cli import main
from memattr.errors import MemattrError
from memattr.litmus.parser import parse_file, parse_litmus
from memattr.litmus.run import run_test

ROOT = Path(__file__).resolve().parents[2]
TESTS = sorted((ROOT / "litmus").rglob("*.litmus"))
KINDS = dict(line.split() for line in (ROOT / "litmus/kinds.txt").read_text().splitlines() if line.strip())


def test_every_test_has_an_expected_kind():
    names = {parse_file(path).name for path in TESTS}
    assert names == set(KINDS)


@pytest.mark.parametrize("path", TESTS, ids=lambda p: p.stem)
def test_kind(path):
    test = parse_file(path)
    result = run_test(test)
    assert result.kind == KINDS[test.name]
    if test.attrs and result.kind == "Allowed":
        assert result.reasons, "an Allowed device test names the missing guarantee"


def test_reset_question_reasons():
    """The thread's question: completion after TLBI+DSB is not arrival for Normal-NC writes."""
    result = run_test(parse_file(ROOT / "litmus/device/RESET+nc+tlbi-s2.litmus"))
    assert result.kind == "Allowed"
    assert any("Early Write Acknowledgement" in reason for reason in result.reasons)
    result = run_test(parse_file(ROOT / "litmus/device/RESET+nc+dsb.litmus"))
    assert any("B2.4.1 ties completion to arrival only for Device-nGnRnE" in reason for reason in result.reasons)
    result = run_test(parse_file(ROOT / "litmus/device/RESET+nc+dmb.litmus"))
    assert any("one peripheral only" in reason for reason in result.reasons)


def test_arrival_follows_b2_4_1_1_rules_b_and_c():
    """Ordered-before across PEs orders arrival for Device-nGRE (rule b), not for GRE or Normal-NC (rule c)."""
    kinds = {}
    for name in ("CHAIN+ngre+dmb", "CHAIN+gre+dmb", "CHAIN+nc+dmb"):
        result = run_test(parse_file(ROOT / f"litmus/device/{name}.litmus"))
        kinds[name] = result.kind
        if result.kind == "Allowed":
            assert any("rule b" in reason for reason in result.reasons)
    assert kinds == {"CHAIN+ngre+dmb": "Forbidden", "CHAIN+gre+dmb": "Allowed", "CHAIN+nc+dmb": "Allowed"}


def test_dependencies_order_arrival_only_under_rule_b():
    """A dependency between two writes' addresses (through a read of ordinary memory) orders their arrival for
    Device-nGnRE but not for Device-GRE: B2.4.1.1 (c) asks for Barrier-ordered-before."""
    shape = """AArch64 DEP
(* memattr: x = {t} @ bar0; y = {t} @ bar0; device P1 *)
{{ 0:X1=x; 0:X3=y; 0:X5=z; 1:X1=y; 1:X3=x; }}
 P0                  | P1          ;
 MOV W0,#1           | LDR W0,[X1] ;
 STR W0,[X1]         | LDR W2,[X3] ;
 LDR W6,[X5]         |             ;
 EOR W7,W6,W6        |             ;
 MOV W2,#1           |             ;
 STR W2,[X3,W7,SXTW] |             ;
exists (1:X0=1 /\\ 1:X2=0)
"""
    gre = run_test(parse_litmus(shape.format(t="Device-GRE"), "gre"))
    ngre = run_test(parse_litmus(shape.format(t="Device-nGRE"), "ngre"))
    nr = run_test(parse_litmus(shape.format(t="Device-nGnRE"), "ngnre"))
    assert (gre.kind, ngre.kind, nr.kind) == ("Allowed", "Allowed", "Forbidden")


def test_verdicts_name_the_assumptions_they_need():
    def assumed(name: str) -> tuple[str, ...]:
        return run_test(parse_file(ROOT / f"litmus/device/{name}.litmus")).assumptions

    assert "nE-ack" in assumed("RESET+ngnrne+dsb")
    assert "read-arrival" in assumed("RESET+ngnre+readback+dsb")
    assert {"nE-ack", "old-translation"} <= set(assumed("RESET+ngnrne+tlbi-s2"))
    # An Allowed verdict needs none of the checked assumptions; a Forbidden one by rule (a) none either.
    assert not {"nE-ack", "read-arrival", "old-translation"} & set(assumed("RESET+nc+tlbi-s2"))
    assert not {"nE-ack", "read-arrival", "old-translation"} & set(assumed("SAMEBAR+ngnre"))
    assert {"peripheral", "xs", "outer-shareable"} <= set(assumed("SAMEBAR+ngnre"))


def test_cli_kinds_all_match(capsys):
    assert main(["litmus", str(ROOT / "litmus"), "--kinds", str(ROOT / "litmus/kinds.txt")]) == 0


def test_cli_kinds_mismatch_exits_1(tmp_path, capsys):
    kinds = tmp_path / "kinds.txt"
    kinds.write_text("MP Forbidden\n")
    assert main(["litmus", str(ROOT / "litmus/classic/MP.litmus"), "--kinds", str(kinds)]) == 1


def test_cli_json_contract(capsys):
    import json

    assert main(["litmus", str(ROOT / "litmus/classic/SB.litmus"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)["tests"][0]
    assert {"name", "kind", "states", "witnesses", "time_s"} <= set(data)
    assert data["witnesses"] == {"positive": 1, "negative": 3} and data["kind"] == "Allowed"


def test_cli_explain_dot(capsys, tmp_path):
    assert main(["litmus", "--explain", str(ROOT / "litmus/device/RESET+nc+dsb.litmus")]) == 0
    dot = capsys.readouterr().out
    assert dot.startswith('digraph "RESET+nc+dsb"') and "rf" in dot and "fr" in dot
    assert "x: Normal-iNC-oNC @ bar0" in dot and "exists (1:X0=1" in dot and "why allowed:" in dot
    # threads side by side: the k-th events of P0 and P1 share a rank
    assert "{ rank=same; e2; e" in dot


def test_cli_explain_forbidden_draws_the_closest_candidate_and_its_cycle(capsys):
    assert main(["litmus", "--explain", str(ROOT / "litmus/classic/MP+dmb.sys.litmus")]) == 0
    dot = capsys.readouterr().out
    assert "Forbidden: the closest candidate that satisfies the condition breaks external" in dot
    assert "cycle c: W x=1 -> e: W y=1 -> f: R y=1 -> h: R x=0" in dot
    assert 'label="bob"' in dot and dot.count("penwidth=3") == 2  # rf and fr of the cycle; bob drawn in purple
    assert main(["litmus", "--explain", str(ROOT / "litmus/device/RESET+ngnrne+dsb.litmus")]) == 0
    dot = capsys.readouterr().out
    assert "breaks endpoint" in dot and 'label="arrives-before", constraint=false, penwidth=3' in dot
    assert "assuming: peripheral, xs, outer-shareable, nE-ack" in dot


def test_cli_explain_with_no_candidate_at_all_is_bad_input(tmp_path):
    test = tmp_path / "t.litmus"
    test.write_text("AArch64 T\n{ 0:X1=x; }\n P0 ;\n MOV W0,#1 ;\nexists (0:X0=2)\n")
    assert main(["litmus", "--explain", str(test)]) == 2


def test_herd_output_shape():
    text = run_test(parse_file(ROOT / "litmus/classic/MP.litmus")).herd_text()
    assert "Observation MP Sometimes 1 3" in text and "\nOk\n" in text and "Positive: 1 Negative: 3" in text


def test_witness_counts_match_herd7():
    """herd7 (aarch64.cat) on the classic catalogue: the same observation and witness counts for every test,
    ATOM+CAS included now that a failing CAS may write its value back and a successful one keeps both
    provenances of Rs, as herd7 does."""
    expected = {}
    for line in (Path(__file__).parent / "herd7-observations.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, observation, positive, negative = line.split()
            expected[name] = (observation, int(positive), int(negative))
    for path in sorted((ROOT / "litmus/classic").glob("*.litmus")):
        test = parse_file(path)
        result = run_test(test, keep_witness=False)
        observation, positive, negative = expected[test.name]
        assert result.observation == observation, test.name
        assert (result.positive, result.negative) == (positive, negative), test.name


def test_model_arm_is_herd7_on_the_device_catalogue(capsys):
    """--model arm reads the device tests as herd7 does (annotations are comments): the same observations
    and witness counts as herd7's aarch64.cat on every one; for the tests with translation tables (+pte), the
    observation of herd7 -variant vmsa."""
    expected = {}
    for line in (Path(__file__).parent / "herd7-device-observations.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, observation, positive, negative, *vmsa = line.split()
            expected[name] = (f"Observation {name} {observation}" if vmsa
                              else f"Observation {name} {observation} {positive} {negative}")
    assert main(["litmus", str(ROOT / "litmus/device"), "--model", "arm", "--herd"]) == 0
    lines = {line.split()[1]: line for line in capsys.readouterr().out.splitlines() if line.startswith("Observation")}
    assert {name: " ".join(line.split()[:3]) if len(expected[name].split()) == 3 else line
            for name, line in lines.items()} == expected


def test_the_tlbi_rule_needs_the_old_translation_in_the_test():
    """With the stage-2 entry written invalid in the test (herd7's PTE syntax), a guest write that did not fault
    used the old entry: the TLBI+DSB completes it without the old-translation assumption; the write may also
    fault, which the condition excludes."""
    pte = run_test(parse_file(ROOT / "litmus/device/RESET+ngnrne+pte+tlbi-s2.litmus"))
    assert pte.kind == "Forbidden" and "old-translation" not in pte.assumptions and "nE-ack" in pte.assumptions
    bare = run_test(parse_file(ROOT / "litmus/device/RESET+ngnrne+tlbi-s2.litmus"))
    assert "old-translation" in bare.assumptions
    text = (ROOT / "litmus/device/RESET+ngnrne+pte+tlbi-s2.litmus").read_text()
    faulting = run_test(parse_litmus(text.replace(" /\\ ~fault(P0,x)", ""), "t.litmus"))
    assert faulting.kind == "Allowed"  # the guest's write may take the fault instead
    states = {tuple(sorted((k, v) for k, v in state)) for state in faulting.states}
    assert any(("2:X2", "0") in state for state in states)
    assert run_test(parse_file(ROOT / "litmus/device/RESET+nc+pte+tlbi-s2.litmus")).kind == "Allowed"


def test_mixed_size_catalogue_matches_herd7_witness_counts():
    """litmus/mixed (Variant=mixed): herd7's observations and witness counts, torn candidates included (three
    halfword stores and a byte load: 24 executions, as herd7 counts them)."""
    expected = {}
    for line in (Path(__file__).parent / "herd7-mixed-observations.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, observation, positive, negative = line.split()
            expected[name] = (observation, int(positive), int(negative))
    paths = sorted((ROOT / "litmus/mixed").glob("*.litmus"))
    assert len(paths) == len(expected)
    for path in paths:
        result = run_test(parse_file(path), keep_witness=False)
        assert (result.observation, result.positive, result.negative) == expected[result.name], result.name


def test_mixed_view_chooses_herd7s_granule_and_splits_initial_values():
    from memattr.litmus.mixed import mixed_view
    from memattr.litmus.parser import parse_litmus

    only_x = parse_litmus("AArch64 G\nVariant=mixed\n{ uint64_t x = 0x1122334455667788; 0:X1=x; }\n P0 ;\n"
                          " LDR X0,[X1] ;\nexists (0:X0=0)\n", "g.litmus")
    view = mixed_view(only_x)
    assert view.mixed.granule == 4  # one size only: half of it
    assert view.init_mem == {"x@0": 0x55667788, "x@4": 0x11223344}
    with_bytes = parse_litmus("AArch64 G\nVariant=mixed\n{ uint32_t x; 0:X1=x; }\n P0 ;\n LDRB W0,[X1,#3] ;\n"
                              "exists (0:X0=0)\n", "g.litmus")
    assert mixed_view(with_bytes).mixed.granule == 1 and len(mixed_view(with_bytes).init_mem) == 4


def test_a_mixed_size_access_without_the_variant_is_refused():
    from memattr.litmus.parser import parse_litmus

    text = (ROOT / "litmus/mixed/MIXED+str.w-in-x.litmus").read_text().replace("Variant=mixed\n", "")
    with pytest.raises(MemattrError, match="inside a location"):
        run_test(parse_litmus(text, "t.litmus"))


def test_explain_reads_the_test_as_the_other_options_say(tmp_path, capsys):
    """--explain honours --model arm (no peripherals: the device test is Allowed) and --variant (a mixed-size
    access without Variant=mixed in the file)."""
    assert main(["litmus", "--explain", "--model", "arm", str(ROOT / "litmus/device/RESET+ngnrne+dsb.litmus")]) == 0
    assert "Allowed: an execution the model allows" in capsys.readouterr().out
    text = (ROOT / "litmus/mixed/MIXED+str.w-in-x.litmus").read_text().replace("Variant=mixed\n", "")
    path = tmp_path / "t.litmus"
    path.write_text(text)
    assert main(["litmus", "--explain", str(path)]) == 2
    capsys.readouterr()
    assert main(["litmus", "--explain", "--variant", "mixed", str(path)]) == 0
    assert "x@4" in capsys.readouterr().out


def test_a_variant_memattr_does_not_model_is_refused_on_the_command_line_and_warned_of_in_a_test(tmp_path, capsys):
    """herd7 refuses an unknown -variant tag; memattr refuses any it does not model (a typo would otherwise run
    every test without the variant), and a test's own Variant= line naming one runs with a warning."""
    test = ROOT / "litmus/classic/2+2W.litmus"
    assert main(["litmus", "--variant", "mixd", str(test)]) == 2
    err = capsys.readouterr().err
    assert "'mixd' is not a variant memattr models" in err and "fatal, mixed, NV2" in err
    assert main(["litmus", "--variant", "Mixed,nv2", str(test)]) == 0  # herd7's names, any case
    capsys.readouterr()
    path = tmp_path / "t.litmus"
    path.write_text(test.read_text().replace("AArch64 2+2W\n", "AArch64 2+2W\nVariant=DontCheckMixed,fatal\n", 1))
    result = run_test(parse_file(path))
    assert result.kind == run_test(parse_file(test)).kind
    assert [w for w in result.warnings if "Variant=" in w] == [
        f"{path}:2: Variant=DontCheckMixed is not modelled by memattr (it models fatal, mixed, NV2): the test runs "
        "without it, so its result may differ from herd7's"]
