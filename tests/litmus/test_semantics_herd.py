"""Semantics taken from herd7 and the Arm ARM that herd's own AArch64 regression tests exercise: typed initial
values, byte and halfword accesses, DSB ST, and herd7's loop-unrolling bound.  Expected verdicts are the
architecture's (and herd7's), written here, not computed by memattr."""

from __future__ import annotations

import pytest

from memattr.errors import MemattrError
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


def test_a_type_memattr_does_not_know_is_read_as_herd7_does_with_a_warning_naming_the_types():
    """herd's A73 declares "unit64_t 0:X1=1" and herd7 runs it: so does memattr, and says so."""
    test = parse_litmus("AArch64 T\n{ unit64_t 0:X0; }\nP0 ;\n NOP ;\nexists (0:X0=0)\n", "t.litmus")
    result = run_test(test)
    assert result.kind == "Required" and any("unit64_t" in w and "uint8_t" in w for w in result.warnings)
    with pytest.raises(MemattrError, match="uint8_t"):
        parse_litmus("AArch64 T\n{ Int 0:X0; }\nP0 ;\n NOP ;\nexists (0:X0=0)\n", "t.litmus")


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


def _single(body: str, condition: str, init: str = "") -> str:
    lines = "\n".join(f" {instruction} ;" for instruction in body.split(";") if instruction.strip())
    return _run(f"AArch64 T\n{{ {init} }}\nP0 ;\n{lines}\nforall ({condition})\n").observation


NZCV = "CSET W3,MI ; CSET W4,EQ ; CSET W5,CS ; CSET W6,VS"


@pytest.mark.parametrize("instruction,init,nzcv", [
    # AddWithCarry (ASL): N, Z, C (unsigned carry out), V (signed overflow); values worked by hand.
    ("ADDS W0,W1,W2", "0:X1=0x7fffffff; 0:X2=1;", (1, 0, 0, 1)),
    ("ADDS W0,W1,W2", "0:X1=0xffffffff; 0:X2=1;", (0, 1, 1, 0)),
    ("ADDS X0,X1,X2", "0:X1=2; 0:X2=3;", (0, 0, 0, 0)),
    ("SUBS X0,X1,X2", "0:X1=0; 0:X2=1;", (1, 0, 0, 0)),
    ("SUBS X0,X1,X2", "0:X1=5; 0:X2=5;", (0, 1, 1, 0)),
    ("SUBS W0,W1,W2", "0:X1=0x80000000; 0:X2=1;", (0, 0, 1, 1)),
    ("CMP X1,X2", "0:X1=3; 0:X2=7;", (1, 0, 0, 0)),
    ("CMN X1,X2", "0:X1=0xffffffffffffffff; 0:X2=1;", (0, 1, 1, 0)),
    ("ANDS X0,X1,X2", "0:X1=0x8000000000000000; 0:X2=0x8000000000000001;", (1, 0, 0, 0)),
    ("TST X1,X2", "0:X1=1; 0:X2=2;", (0, 1, 0, 0)),
])
def test_flag_setting_instructions_compute_nzcv(instruction, init, nzcv):
    condition = " /\\ ".join(f"0:X{reg}={bit}" for reg, bit in zip((3, 4, 5, 6), nzcv))
    assert _single(f"{instruction} ; {NZCV}", condition, init) == "Always"


@pytest.mark.parametrize("body,condition,init", [
    ("MOVZ X0,#0x1234,LSL #16", "0:X0=0x12340000", ""),
    ("MOVN W0,#0", "0:X0=0xffffffff", ""),
    ("MOVZ X0,#1 ; MOVK X0,#1,LSL #48", "0:X0=0x1000000000001", ""),
    ("UBFM X4,X3,#4,#7", "0:X4=0xb", "0:X3=0xb7;"),      # UBFX X4,X3,#4,#4
    ("UBFM W4,W3,#28,#3", "0:X4=0xb0", "0:X3=0xb;"),     # LSL W4,W3,#4
    ("ASR X0,X1,#4", "0:X0=0xfffffffffffffff8", "0:X1=0xffffffffffffff80;"),
    ("LSR W0,W1,#4", "0:X0=0x0ffffff8", "0:X1=0xffffff80;"),
    ("LSL X0,X1,X2", "0:X0=0x100", "0:X1=1; 0:X2=72;"),  # the shift amount is taken modulo 64
    ("NEG X0,X1", "0:X0=0xfffffffffffffffe", "0:X1=2;"),
    ("MVN W0,W1", "0:X0=0xfffffff0", "0:X1=0xf;"),
    ("ADD X0,X1,X2,LSL #2", "0:X0=13", "0:X1=1; 0:X2=3;"),
    ("CMP X1,X2 ; CSINC X0,X1,X2,EQ", "0:X0=8", "0:X1=1; 0:X2=7;"),
    ("CMP X1,X2 ; CSINV X0,X1,X2,NE", "0:X0=1", "0:X1=1; 0:X2=7;"),
    ("CMP X1,X2 ; CSNEG X0,X1,X2,GT", "0:X0=0xfffffffffffffff9", "0:X1=1; 0:X2=7;"),
    ("CMP X1,X2 ; CSET X0,LT", "0:X0=1", "0:X1=0xffffffffffffffff; 0:X2=1;"),  # -1 < 1 signed
    ("CMP X1,X2 ; CSET X0,LO", "0:X0=0", "0:X1=0xffffffffffffffff; 0:X2=1;"),  # not below unsigned
])
def test_data_processing_instructions(body, condition, init):
    assert _single(body, condition, init) == "Always"


def test_test_bit_branches():
    text = "AArch64 T\n{{ 0:X0={value}; }}\n P0 ;\n TBNZ X0,#2,L ;\n MOV X1,#1 ;\n L: ;\nforall (0:X1={x1})\n"
    assert _run(text.format(value=4, x1=0)).observation == "Always"
    assert _run(text.format(value=3, x1=1)).observation == "Always"


def test_herd_spacing_in_initial_state_and_condition():
    text = "AArch64 T\n{\n    int64_t 0: X1 = 2;\n}\nP0 ;\n ADD X0, X1, #1 ;\nforall (\n    0: X0 = 3 /\\ 0: XZR = 0 /\\ 0:X9 = 0\n)\n"
    assert _run(text).observation == "Always"


def test_extended_register_operands():
    assert _single("ADD X0,X1,W2,SXTW", "0:X0=0xffffffffffffffff", "0:X1=0; 0:X2=0xffffffff;") == "Always"
    assert _single("ADD X0,X1,W2,UXTW #2", "0:X0=0x3fffffffc", "0:X1=0; 0:X2=0xffffffff;") == "Always"
    # An address plus a register holding 0 (diy7's false address dependency) is the same address.
    text = "AArch64 T\n{ 0:X0=x; 0:X2=0; }\nP0 ;\n ADD X3,X0,W2,SXTW ;\n MOV W4,#1 ;\n STR W4,[X3] ;\nexists (x=1)\n"
    assert _run(text).observation == "Always"


def test_post_and_pre_index_write_back_the_base():
    text = ("AArch64 T\n{ 0:X3=y; }\nP0 ;\n MOV W2,#1 ;\n STR W2,[X3],#4 ;\n SUB X3,X3,#4 ;\n LDR W5,[X3] ;\n"
            "forall (y=1 /\\ 0:X5=1 /\\ 0:X3=y)\n")
    assert _run(text).observation == "Always"
    pre = "AArch64 T\n{ 0:X3=y; }\nP0 ;\n MOV W2,#1 ;\n STR W2,[X3,#4]! ;\nexists (y=1)\n"
    with pytest.raises(MemattrError, match="inside a location"):
        _run(pre)


def test_a_condition_may_end_with_a_semicolon_and_follow_a_row_without_bar():
    text = "AArch64 T\n{ 0:X1=x; }\n P0 ;\n MOV W0,#1 ;\n STR W0,[X1] ;\nexists (x=1);\n"
    assert _run(text).observation == "Always"


def test_arrays_are_cells_of_their_element_size():
    text = ("AArch64 T\n{ int64_t 0:X0 = 42; 0:X2 = v; int64_t v[2] = {1, 2}; int x[2]; 0:X3=x[1]; }\nP0 ;\n"
            " STR X0,[X2,#8] ;\n MOV W1,#7 ;\n STR W1,[X3] ;\nforall (v[0]=1 /\\ v[1]=42 /\\ x[0]=0 /\\ x[1]=7)\n")
    assert _run(text).observation == "Always"
    with pytest.raises(MemattrError, match="whole element"):
        _run("AArch64 T\n{ 0:X2 = v; int64_t v[2]; }\nP0 ;\n MOV W0,#1 ;\n STR W0,[X2,#4] ;\nexists (v[0]=1)\n")


@pytest.mark.parametrize("body,condition,init", [
    ("LDRSB W0,[X1]", "0:X0=0xffffff80", "0:X1=x; x=0x80;"),
    ("LDRSW X0,[X1]", "0:X0=0xffffffff80000000", "uint64_t 0:X0; 0:X1=x; x=0x80000000;"),
    ("SBFM X0,X1,#4,#7", "0:X0=0xfffffffffffffffb", "uint64_t 0:X0; 0:X1=0xb7;"),  # SBFX: bits 7:4 = 0b1011
    ("MUL X0,X1,X2", "0:X0=42", "0:X1=6; 0:X2=7;"),
    ("ABS W0,W1", "0:X0=5", "0:X1=0xfffffffb;"),
    ("BIC X0,X1,X2", "0:X0=0xf0", "0:X1=0xff; 0:X2=0x0f;"),
    ("ORN W0,WZR,W1", "0:X0=0xfffffff0", "0:X1=0xf;"),
    ("CMP X1,X2 ; CSETM W0,NE", "0:X0=0xffffffff", "0:X1=1; 0:X2=2;"),
])
def test_more_data_processing_and_sign_extending_loads(body, condition, init):
    assert _single(body, condition, init) == "Always"


def test_an_undeclared_register_compares_at_32_bits_as_in_herd7():
    """herd7's registers are "int" unless declared: -1 in the condition matches a W register of all ones,
    and a declared uint64_t register compares all 64 bits."""
    assert _single("MOV W0,#-1", "0:X0=-1") == "Always"
    assert _single("MOVN X0,#0", "0:X0=0xffffffff", "") == "Always"
    assert _single("MOVN X0,#0", "0:X0=0xffffffff", "uint64_t 0:X0;") == "Never"


def test_scaled_register_offsets_and_shifted_immediates():
    text = ("AArch64 T\n{ int64_t v[4] = {1, 2, 3, 4}; 0:X1=v; 0:X2=2; }\nP0 ;\n LDR X0,[X1,X2,LSL #3] ;\n"
            " ADDS X3,XZR,#1,LSL #12 ;\nforall (0:X0=3 /\\ 0:X3=4096)\n")
    assert _run(text).observation == "Always"


def test_a_test_with_only_locations_runs_as_forall_true():
    text = "AArch64 T\n{ 0:X0=1; }\nP0 ;\n MOV X1,X0 ;\nlocations [0:X1;]\n"
    result = _run(text)
    assert result.observation == "Always" and result.states


def test_load_and_store_pairs():
    text = ("AArch64 T\n{ uint64_t t[4] = {1, 2, 3, 4}; 0:X2=t; uint64_t 0:X0; uint64_t 0:X1; }\nP0 ;\n"
            " LDP X0,X1,[X2],#16 ;\n MOV X3,#5 ;\n MOV X4,#6 ;\n STP X3,X4,[X2] ;\n"
            "forall (0:X0=1 /\\ 0:X1=2 /\\ t[2]=5 /\\ t[3]=6)\n")
    assert _run(text).observation == "Always"


def test_casp_compares_and_swaps_a_pair_with_herd7s_executions():
    """herd's A242 shape: a failing CASP (two executions: write-back or not) and a successful one (two
    provenances of Rs), on W and X registers; herd7 reports Always 16 0 for A242."""
    result = _run("AArch64 T\n{ int x[2]={0,0}; int y[2]={0,0}; 0:X5=x; 0:X12=y; }\n P0 ;\n"
                  " MOV W6,#1 ;\n MOV W7,#1 ;\n MOV W2,#2 ;\n MOV W3,#2 ;\n CASP W6,W7,W2,W3,[X5] ;\n"
                  " MOV W10,#0 ;\n MOV W11,#0 ;\n CASP W10,W11,W2,W3,[X12] ;\n"
                  "forall (x[0]=0 /\\ x[1]=0 /\\ y[0]=2 /\\ y[1]=2 /\\ 0:X6=0 /\\ 0:X10=0)\n")
    assert (result.kind, result.positive, result.negative) == ("Required", 4, 0)


def test_an_access_to_a_number_fails_only_if_the_model_allows_it():
    """herd's A261/A263: a load from address 16 reached only if P1 reads x=1 then x=0 (which coherence
    forbids) runs; reached on x=1 alone, it is an error."""
    shape = ("AArch64 T\n{{ int x=0; 0:X1=x; 1:X1=x; 1:X3=16; }}\n P0 | P1 ;\n MOV W0,#1 | LDR W0,[X1] ;\n"
             " STR W0,[X1] | LDR W2,[X1] ;\n | EOR W4,W0,#1 ;\n | {guard} ;\n | CBNZ W4,L1 ;\n | LDR W6,[X3] ;\n"
             " | L1: ;\nforall 1:X4=1\n")
    avoided = _run(shape.format(guard="ORR W4,W4,W2"))
    assert (avoided.kind, avoided.positive, avoided.negative) == ("Required", 3, 0)
    with pytest.raises(MemattrError, match="base register holds 16"):
        _run(shape.format(guard="NOP"))


def test_conditions_with_implication_not_and_inequality():
    test = "AArch64 T\n{ int x=1; 0:X0=x; }\n P0 ;\n LDR W1,[X0] ;\nforall (0:X1<>2 /\\ not (x=2)) => 0:X1=1\n"
    assert _run(test).kind == "Required"


def test_pointers_in_memory_are_locations_loaded_and_stored_whole():
    """herd's A180/A182/L103 shapes: a pointer cell initialised with &x, loaded and dereferenced; a pointer
    stored by another thread (x+4, an element of x); partial stores of a pointer are refused."""
    result = _run("AArch64 T\n{ int x[2] = {2, 1}; int *p = &x; 0:X2=p; }\n P0 ;\n LDR X2,[X2] ;\n"
                  " LDR W0,[X2] ;\nforall (0:X0=2)\n")
    assert (result.kind, result.positive) == ("Required", 1)
    moved = _run("AArch64 T\n{ int x[2] = {1,2}; int *p = &x; 0:X2=p; 1:X2=p; 1:X4=x; }\n P0 | P1 ;\n"
                 " LDR X2,[X2] | ADD X4,X4,#4 ;\n LDR W0,[X2] | STR X4,[X2] ;\nexists (0:X0=2)\n")
    assert (moved.kind, moved.positive, moved.negative) == ("Allowed", 1, 1)
    with pytest.raises(MemattrError, match="stored in part"):
        _run("AArch64 T\n{ int *p = &x; 0:X2=p; 0:X4=x; }\n P0 ;\n STR W4,[X2] ;\nexists (0:X0=0)\n")


def test_calls_system_flags_and_fatal_exceptions():
    """herd's L022 (BL/RET, ADR/BLR within a thread), L053/L104 (MRS/MSR NZCV), A247 (UDF, Variant=fatal)."""
    calls = _run("AArch64 T\n{ }\n P0 | P1 ;\n MOV W0,#4 | ADR X1,Ldec ;\n BL Linc | MOV W0,#4 ;\n BL Linc | BLR X1 ;\n"
                 " B Lzero | BLR X1 ;\nLinc: | B Lone ;\n ADD W0,W0,#1 |Ldec: ;\n RET | SUB W0,W0,#1 ;\n"
                 "Lzero: | RET ;\n |Lone: ;\nforall 0:X0=6 /\\ 1:X0=2\n")
    assert (calls.kind, calls.positive) == ("Required", 1)
    flags = _run("AArch64 T\n{ uint64_t 0:X0; }\n P0 ;\n CMP W1,#0 ;\n MRS X0,NZCV ;\n LSR X0,X0,28 ;\nforall 0:X0=6\n")
    assert flags.kind == "Required"
    fatal = "AArch64 T\nVariant=fatal\n{ }\n P0 ;\nL0: ;\n UDF #0 ;\n MOV W1,#1 ;\nforall (Fault(P0:L0,UndefinedInstruction) /\\ 0:X1=0)\n"
    assert _run(fatal).kind == "Required"
    with pytest.raises(MemattrError, match="Variant=fatal"):
        _run(fatal.replace("Variant=fatal\n", ""))
    with pytest.raises(MemattrError, match="P0:L1 .in the initial state or the condition. is not a label"):
        _run(fatal.replace("P0:L0,", "P0:L1,"))


def test_the_condition_may_not_name_what_the_test_does_not_have():
    """herd7: "Post-condition introduces new symbolic location(s)" (herd's W001)."""
    with pytest.raises(MemattrError, match="'x', not a location"):
        _run("AArch64 T\n{ }\n P0 ;\n MOV X1,#1 ;\nexists (x=3)\n")


def test_ordered_pairs_keep_register_order_and_plain_pairs_none():
    """LDIAPP/STILP order their two accesses (herd's L082, L084); a pre-indexed STILP writes Rt2 first (L083);
    LDP's two reads are unordered between themselves even when acquire (LDAP), as herd's iico."""
    stilp = ("AArch64 T\n{ int64_t x[2]; 0:X2=x; 1:X2=x; int64_t 1:X0; int64_t 1:X1; }\n P0 | P1 ;\n"
             " MOV X0,#1 | LDR X1,[X2,#8] ;\n MOV X1,#2 | DMB LD ;\n OP X0,X1,[X2] | LDR X0,[X2] ;\n"
             "exists (1:X1=2 /\\ 1:X0=0)\n")
    assert _run(stilp.replace("OP", "STILP")).kind == "Forbidden"
    assert _run(stilp.replace("OP", "STP")).kind == "Allowed"
    pre = ("AArch64 T\n{ int64_t x[2]; 0:X2=x; 1:X2=x; int64_t 1:X0; int64_t 1:X1; }\n P0 | P1 ;\n"
           " ADD X2,X2,#16 | LDR X1,[X2] ;\n MOV X0,#1 | DMB LD ;\n MOV X1,#2 | LDR X0,[X2,#8] ;\n"
           " STILP X0,X1,[X2,#-16]! | ;\nexists (1:X1=1 /\\ 1:X0=0)\n")
    assert _run(pre).kind == "Forbidden"


def test_code_as_values_and_calls_into_another_threads_code():
    """herd's L023 (a thread calls a function in another thread's code), L062/L105 (instructions read as data
    and compared with instr:"..." values, branch targets relative), AK001 (a branch through a pointer cell)."""
    calls = _run("AArch64 T\n{ 0:X8=P1:Ldec; 1:X1=P0:Linc; }\n P0 | P1 ;\n MOV W9,#4 | MOV W9,#4 ;\n BLR X8 | BLR X1 ;\n"
                 " BLR X8 | BLR X1 ;\n MOV W0,W9 | MOV W0,W9 ;\n B Lzero | B Lone ;\nLinc: |Ldec: ;\n"
                 " ADD W9,W9,#1 | SUB W9,W9,#1 ;\n RET | RET ;\nLzero: |Lone: ;\nforall 0:X0=2 /\\ 1:X0=6\n")
    assert calls.kind == "Required"
    code = _run("AArch64 T\n{ ins_t 0:X2; }\n P0 ;\n ADR X0,L0 ;\n LDR W2,[X0] ;\nL0: ;\n B L1 ;\nL1: ;\n"
                "forall 0:X2=instr:\"B .+4\"\n")
    assert code.kind == "Required"
    branch = _run("AArch64 T\n{ ins_t *y; 0:X2=x; 0:X4=y; 0:X3=P1:L0; 1:X2=x; 1:X4=y; }\n P0 | P1 ;\n"
                  " LDR W1,[X2] | ADR X5,L1 ;\n STLR X3,[X4] | STR X5,[X4] ;\n | LDR X3,[X4] ;\n | BR X3 ;\n"
                  " |L0: ;\n | MOV W0,#1 ;\n | STR W0,[X2] ;\n |L1: ;\nexists (0:X1=1 /\\ 1:X0=1)\n")
    assert (branch.kind, branch.negative) == ("Forbidden", 3)  # herd7: Never 0 3
    with pytest.raises(MemattrError, match="Lself00 .in the initial state"):
        _run("AArch64 T\n{ 0:X5=P0:Lself00; }\n P0 ;\n MOV X4,X5 ;\nlocations [0:X4]\n")


def test_filter_drops_executions_as_herd7_does():
    """herd7 7.58 on this MP with "filter (1:X0=1)": States 2, Observation Sometimes 1 1."""
    result = _run("AArch64 MP+filter\n{ 0:X1=x; 0:X3=y; 1:X1=y; 1:X3=x; }\n P0 | P1 ;\n MOV W0,#1 | LDR W0,[X1] ;\n"
                  " STR W0,[X1] | LDR W2,[X3] ;\n MOV W2,#1 | ;\n STR W2,[X3] | ;\nfilter (1:X0=1)\nexists (1:X2=0)\n")
    assert (result.observation, result.positive, result.negative, len(result.states)) == ("Sometimes", 1, 1, 2)
    with pytest.raises(MemattrError, match="'z', not a location"):
        _run("AArch64 T\n{ 0:X1=x; }\n P0 ;\n LDR W0,[X1] ;\nfilter (z=1)\nexists (0:X0=0)\n")


def _loads(n: int, use: str = "") -> str:
    rows = "\n".join(f" LDR W{i + 2},[X1] | {'MOV W0,#1' if i == 0 else ('STR W0,[X1]' if i == 1 else '')} ;"
                     for i in range(n))
    return (f"AArch64 LOADS\n{{ 0:X1=x; 1:X1=x; }}\n P0 | P1 ;\n{rows}\n{use}"
            f"exists (0:X2=1 /\\ 0:X{n + 1}=0)\n")


def test_unused_read_values_stay_open_and_coherence_prunes_as_it_goes():
    """20 loads of a location one other thread writes once: a value nobody uses is left open (one path, not
    2^20), and the reads' sources are picked in turn under SC per location: the 21 coherent candidates, the
    reads seeing the write from some point on (CoRR), and none where the first sees it and the last not."""
    from memattr.litmus.semantics import Deferred, thread_paths

    test = parse_litmus(_loads(20), "t.litmus")
    paths, _ = thread_paths(test)
    assert len(paths[0]) == 1 and all(isinstance(e.value, Deferred) for e in paths[0][0].events)
    result = run_test(test)
    assert (result.observation, result.positive, result.negative, result.executions) == ("Never", 0, 21, 21)
    assert sorted(state[0][1] + state[-1][1] for state in result.states) == ["00", "01", "11"]  # first, last


def test_a_used_read_value_takes_each_value_from_the_instruction_that_uses_it():
    """The same loads with the first one's value stored elsewhere: that read takes each value of x's domain
    (two paths), the others stay open, and the stored value is the one the read returned."""
    from memattr.litmus.semantics import Deferred, thread_paths

    text = _loads(4).replace(" LDR W5,[X1] |  ;", " LDR W5,[X1] |  ;\n STR W2,[X6] |  ;").replace(
        "0:X1=x;", "0:X1=x; 0:X6=y;").replace("exists (", "exists (y=1 /\\ ")
    test = parse_litmus(text, "t.litmus")
    paths, _ = thread_paths(test)
    assert len(paths[0]) == 2
    assert all(not isinstance(p.events[0].value, Deferred) and isinstance(p.events[1].value, Deferred)
               for p in paths[0])
    result = run_test(test)
    assert (result.observation, result.positive, result.negative) == ("Never", 0, 5)
    assert all(dict(state)["0:X2"] == dict(state)["y"] for state in result.states)


NV2 = """AArch64 NV2
{variant}
{{
 uint64_t nvmem[512];
 0:VNCR_EL2=nvmem;
 1:X1=nvmem;
}}
 P0               | P1               ;
 MOV X0,#1        | LDR X0,[X1,#312] ;
 MSR ESR_EL1,X0   |                  ;
 MRS X2,ESR_EL1   |                  ;
exists (1:X0=1 /\\ 0:X2=1)
"""


def test_nv2_turns_table_d8_120_register_accesses_into_memory_accesses():
    """With Variant=NV2 (HCR_EL2.{NV, NV1, NV2} = {1, 1, 1} at EL1), MSR ESR_EL1 is a store at VNCR_EL2 + 0x138
    (D8.14.6.2, Table D8-120) that another PE may read, and MRS reads it back from memory; without the variant
    ESR_EL1 is a register of P0's own and memory never changes."""
    with_nv2 = _run(NV2.format(variant="Variant=NV2"))
    assert (with_nv2.observation, with_nv2.positive, with_nv2.negative) == ("Sometimes", 1, 1)
    without = _run(NV2.format(variant=""))
    assert (without.observation, without.positive, without.negative) == ("Never", 0, 1)
    assert all(dict(state)["0:X2"] == "1" for state in without.states)


def test_the_false_dependency_idiom_keeps_read_values_open():
    """diy7's address dependency (EOR Wd,Wn,Wn then an indexed access) does not need the value read: a chain of
    6 dependent loads is one path, not 2^6, and the counts are herd7's (Sometimes 32 32, herd7 7.58+1)."""
    from memattr.litmus.semantics import thread_paths

    p0 = [" LDR W2,[X1]"] + [line for i in range(1, 6) for line in
                             (" EOR W3,W2,W2", f" ADD X4,X{10 + i},W3,SXTW", " LDR W2,[X4]")]
    p1 = [" MOV W0,#1"] + [f" STR W0,[X{i + 1}]" for i in range(6)]
    rows = [f"{a:24}| {b:16};" for a, b in zip(p0, p1 + [""] * (len(p0) - len(p1)))]
    init = " ".join(["0:X1=x0;"] + [f"0:X{10 + i}=x{i};" for i in range(1, 6)] + [f"1:X{i + 1}=x{i};" for i in range(6)])
    test = parse_litmus(f"AArch64 ADDRCHAIN6\n{{ {init} }}\n P0 | P1 ;\n" + "\n".join(rows) + "\nexists (0:X2=1)\n",
                        "t.litmus")
    paths, _ = thread_paths(test)
    assert len(paths[0]) == 1
    result = run_test(test)
    assert (result.observation, result.positive, result.negative) == ("Sometimes", 32, 32)
    assert result.witness is not None and len(result.witness[0].addr) == 5  # the five dependencies are kept
