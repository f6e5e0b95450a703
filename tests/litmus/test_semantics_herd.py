"""Semantics taken from herd7 and the Arm ARM that herd's own AArch64 regression tests exercise: typed initial
values, byte and halfword accesses, DSB ST, and herd7's loop-unrolling bound.  Expected verdicts are the
architecture's (and herd7's), written here, not computed by memattr."""

from __future__ import annotations

import pytest

from memattr.litmus.parser import parse_litmus
from memattr.litmus.run import run_test

MASK64 = (1 << 64) - 1


def _run(text: str):  # type: ignore[no-untyped-def]
    return run_test(parse_litmus(text, "t.litmus"))


def test_typed_initial_values_are_reduced_to_their_type():
    test = parse_litmus("AArch64 T\n{ int8_t 0:X0 = 256; uint8_t x = 257; uint64_t 0:X3; int16_t 0:X4 = 65535;"
                        " int64_t 0:X5 = -2; y = 3; }\nP0 ;\n NOP ;\nexists (0:X0=0)\n", "t.litmus")
    assert test.init_regs[(0, "X0")] == 0 and test.init_mem["x"] == 1 and test.init_regs[(0, "X3")] == 0
    assert test.init_regs[(0, "X4")] == MASK64  # int16_t 65535 is -1, sign-extended into the register
    assert test.init_regs[(0, "X5")] == MASK64 - 1 and test.init_mem["y"] == 3


def test_a_type_memattr_does_not_know_is_an_error_naming_the_types():
    from memattr.errors import MemattrError

    with pytest.raises(MemattrError, match="uint8_t"):
        parse_litmus("AArch64 T\n{ unit64_t 0:X0; }\nP0 ;\n NOP ;\nexists (0:X0=0)\n", "t.litmus")


@pytest.mark.parametrize("store,value,expected", [("STRB", 0x1FF, 0xFF), ("STRH", 0x12345, 0x2345),
                                                   ("STR", 0x1_0000_0001, 1)])  # STR W: the low 32 bits
def test_stores_write_the_low_bits_of_their_size(store, value, expected):
    result = _run(f"AArch64 T\n{{ 0:X0={value}; 0:X1=x; }}\nP0 ;\n {store} W0,[X1] ;\nexists (x={expected})\n")
    assert result.observation == "Always"


def test_byte_loads_zero_extend_the_low_byte():
    result = _run("AArch64 T\n{ x=0x1234; 0:X1=x; }\nP0 ;\n LDRB W0,[X1] ;\nexists (0:X0=0x34)\n")
    assert result.observation == "Always"


def test_negative_values_in_conditions_are_64_bit_patterns():
    result = _run("AArch64 T\n{ int64_t 0:X0; }\nP0 ;\n MOV X0,#-1 ;\nforall (0:X0=-1)\n")
    assert result.observation == "Always"


SB = """AArch64 SB+{b}
{{ 0:X1=x; 0:X2=y; 1:X1=y; 1:X2=x; }}
 P0          | P1          ;
 MOV W0,#1   | MOV W0,#1   ;
 STR W0,[X1] | STR W0,[X1] ;
 {b:<11} | {b:<11} ;
 LDR W3,[X2] | LDR W3,[X2] ;
exists (0:X3=0 /\\ 1:X3=0)
"""


@pytest.mark.parametrize("barrier,observation", [
    ("DMB ST", "Sometimes"),  # a DMB ST orders writes with writes only
    ("DSB ST", "Never"),      # a DSB ST completes earlier writes before any later access (DSB-ob)
    ("DSB LD", "Sometimes"),  # DSB LD orders earlier reads only
    ("DSB SY", "Never"),
])
def test_dsb_st_orders_earlier_writes_before_later_reads(barrier, observation):
    assert _run(SB.format(b=barrier)).observation == observation


LOOP = """AArch64 T
{{ }}
 P0           ;
 MOV W0,#{n}  ;
 MOV W1,#0    ;
L0:           ;
 ADD W1,W1,#1 ;
 SUB W0,W0,#1 ;
 {branch} ;
 {tail} ;
L1:           ;
forall 0:X1={n}
"""


def test_a_loop_on_known_values_is_unrolled_completely():
    """herd7 counts only unconditional jumps and conditional ones on values read from memory."""
    result = _run(LOOP.format(n=10, branch="CBNZ W0,L0", tail="NOP"))
    assert result.observation == "Always" and result.positive == 1 and not result.warnings


def test_an_unconditional_backward_jump_is_bounded_as_herd7_does():
    """The same loop closed by B: two backward jumps per target are allowed (herd7 -unroll 2), then the path
    is cut and no execution remains: Never with no state, and a warning naming the label."""
    text = LOOP.format(n=10, branch="CBZ W0,L1", tail="B L0")
    result = _run(text)
    assert (result.observation, result.positive, result.negative) == ("Never", 0, 0)
    assert result.warnings and "P0:L0" in result.warnings[0] and "(2)" in result.warnings[0]
    assert _run(LOOP.format(n=3, branch="CBZ W0,L1", tail="B L0")).observation == "Always"
