"""Parser errors name the line and what was expected; garbage never raises anything else."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memattr.errors import MemattrError
from memattr.litmus.parser import parse_litmus

ROOT = Path(__file__).resolve().parents[2]
MP = (ROOT / "litmus/classic/MP.litmus").read_text()


def test_mp_parses():
    test = parse_litmus(MP, "MP.litmus")
    assert test.name == "MP" and len(test.threads) == 2 and test.init_regs[(0, "X1")] == "x"


@pytest.mark.parametrize("text,line,needle", [
    ("", 1, "empty"),
    ("X86 MP\n{}\n", 1, "AArch64"),
    (MP.replace("LDR W2,[X3]", "FOO W2,[X3]"), 9, "unsupported instruction"),
    (MP.replace("MOV W0,#1   |", "MOV W0,#x1  |"), 8, "immediate"),
    (MP.replace(" P0          | P1          ;", " P0          | P2          ;"), 7, "P1"),
    (MP.replace("exists", "existz"), 12, "exists"),
    (MP.replace("(1:X0=1", "(1:X0=1 /\\"), 12, "bad atom"),
    (MP.replace("1:X2=0)", "1:X2=0"), 12, "parenthesis"),
    (MP.replace("0:X1=x;", "0:X99=x;"), 4, "register"),
    (MP.replace("STR W2,[X3] |             ;", "STR W2,[X3] ;"), 11, "cells"),
    (MP.replace("LDR W2,[X3]", "LDXP W2,[X3]"), 9, "OP Rt1,Rt2,[Xn]"),
    (MP.replace("STR W2,[X3]", "STXP W9,W2,[X3]"), 11, "OP Ws,Rt1,Rt2,[Xn]"),
    (MP.replace("STR W2,[X3]", "STRB X2,[X3]"), 11, "STRB with W registers"),
    (MP.replace("LDR W2,[X3]", "LDRH X2,[X3]"), 9, "LDRH with W registers"),
])
def test_errors_name_line(text, line, needle):
    with pytest.raises(MemattrError) as error:
        parse_litmus(text, "t.litmus")
    message = str(error.value)
    assert message.startswith(f"t.litmus:{line}:") and needle in message and "\n" not in message


def test_extension_errors():
    bad = "(* memattr: x = Normal-iNC-oNC *)\n" + MP
    with pytest.raises(MemattrError, match="names no peripheral"):
        parse_litmus(bad, "t.litmus")
    with pytest.raises(MemattrError, match="unknown memory type"):
        parse_litmus("(* memattr: x = Weird @ p *)\n" + MP, "t.litmus")
    with pytest.raises(MemattrError, match="not a thread"):
        parse_litmus("(* memattr: device P7 *)\n" + MP, "t.litmus")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_garbage_never_crashes(text):
    try:
        parse_litmus(text, "fuzz.litmus")
    except MemattrError as error:
        assert "\n" not in str(error)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(MP) - 1), st.text(max_size=6))
def test_mutations_never_crash(position, insert):
    try:
        parse_litmus(MP[:position] + insert + MP[position + 1:], "fuzz.litmus")
    except MemattrError:
        pass


def test_text_before_the_initial_state_is_skipped_with_a_warning_as_herd7_does(tmp_path, capsys):
    from memattr.cli import main

    text = MP.replace("{\n0:X1=x;", "q\n{\n0:X1=x;")
    test = parse_litmus(text, "t.litmus")
    assert test.name == "MP" and test.notes == ("t.litmus:3: text before the initial state ignored, as herd7 does: 'q'",)
    path = tmp_path / "t.litmus"
    path.write_text(text)
    assert main(["litmus", str(path)]) == 0
    assert "MP: warning: " in capsys.readouterr().err
