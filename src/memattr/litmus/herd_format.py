"""herd7's text for a test's condition and final states, so that ``memattr litmus --herd`` reads as herd7 does.

The condition is printed as herd7's ``ConstrGen.pp_prop`` prints it (herdtools7 ``lib/constrGen.ml``): the
quantifier, then the proposition in parentheses, ``/\\`` and ``\\/`` bracketed only inside the other operator
(or an implication), ``not (...)``, each number as the signed 64-bit value it was read as (``-1``,
``4205418631``).  A final state lists registers first, by thread, then memory locations (``[x]`` for a scalar,
``t={1,2}`` for a whole array, ``t[0]`` for an element), then faults (``Fault(P0:L0,X)``, or ``~Fault(...)``
when the fault was not taken), each value shown as its declared type (:func:`memattr.litmus.ast.show_value`).
herdtools7's AArch64 regression tests (their ``.expected`` files) check both, line by line.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from memattr.litmus.ast import And, Atom, Condition, Const, Implies, Not, Or, Prop, as_type

_FAULT = re.compile(r"fault\((.+)\)")
_CELL = re.compile(r"(?P<name>[A-Za-z_]\w*)\[(?P<index>\d+)\]")
_REGISTER = re.compile(r"[XW](\d+)")


def signed64(value: int) -> int:
    """A 64-bit pattern as herd7 prints a number it read (OCaml's Int64): two's complement."""
    return as_type(value, (64, True))


def _value_text(value: int | str | tuple[int, ...]) -> str:
    if isinstance(value, tuple):
        return "{" + ",".join(str(signed64(v)) for v in value) + "}"
    return str(signed64(value)) if isinstance(value, int) else value


def location_text(thread: int | None, name: str) -> str:
    """A register ``T:R``, a scalar memory location ``[x]``, an element ``t[0]`` or a whole array ``t``."""
    if thread is not None:
        return f"{thread}:{name}"
    return name if _CELL.fullmatch(name) else f"[{name}]"


def _fault_text(atom: Atom, capital: bool) -> str:
    where = f"P{atom.thread}:{atom.label}" if atom.label else f"P{atom.thread}"
    match = _FAULT.fullmatch(atom.name)
    return f"{'Fault' if capital else 'fault'}({where},{match.group(1) if match else atom.name})"


def _is_fault(atom: Atom) -> bool:
    return atom.thread is not None and atom.name.startswith("fault(")


def _name_text(atom: Atom, arrays: frozenset[str]) -> str:
    """A whole array is named bare (``t={1,2}``); anything else as :func:`location_text`."""
    if atom.thread is None and (isinstance(atom.value, tuple) or atom.name in arrays):
        return atom.name
    return location_text(atom.thread, atom.name)


def atom_text(atom: Atom, arrays: frozenset[str] = frozenset()) -> str:
    if _is_fault(atom):
        return _fault_text(atom, capital=False)
    return f"{_name_text(atom, arrays)}={_value_text(atom.value)}"


# ConstrGen.is_paren: whether an operator printed below another needs parentheses.
_PAREN = {("and", "or"), ("and", "implies"), ("or", "implies"), ("implies", "or"), ("implies", "and")}


def prop_text(prop: Prop, arrays: frozenset[str] = frozenset(), above: str = "top") -> str:
    if isinstance(prop, Atom):
        return atom_text(prop, arrays)
    if isinstance(prop, Const):
        return "true" if prop.value else "false"
    if isinstance(prop, Not):
        return f"not ({prop_text(prop.inner, arrays)})"
    here = "and" if isinstance(prop, And) else "or" if isinstance(prop, Or) else "implies"
    assert isinstance(prop, (And, Or, Implies))
    operator = {"and": " /\\ ", "or": " \\/ ", "implies": " => "}[here]
    text = prop_text(prop.left, arrays, here) + operator + prop_text(prop.right, arrays, here)
    return f"({text})" if (above, here) in _PAREN else text


def condition_text(condition: Condition, arrays: frozenset[str] = frozenset()) -> str:
    """``exists (...)``, ``~exists (...)`` or ``forall (...)``, as herd7 prints the test's condition."""
    return f"{condition.quantifier} ({prop_text(condition.prop, arrays)})"


def _order(atom: Atom) -> tuple[Any, ...]:
    """herd7's order of a state's entries: registers by thread (XZR first, then X0, X1...), memory locations and
    whole arrays by name, then array elements, then faults."""
    if _is_fault(atom):
        return (3, atom.thread, atom.name)
    if atom.thread is not None:
        number = _REGISTER.fullmatch(atom.name)
        return (0, atom.thread, -1 if atom.name == "XZR" else int(number.group(1)) if number else 1 << 10,
                atom.name)
    cell = _CELL.fullmatch(atom.name)
    if cell:
        return (2, cell.group("name"), int(cell.group("index")))
    return (1, atom.name)


def _sort_value(text: str) -> tuple[Any, ...]:
    """herd7 sorts states by their full values, a number as a signed 64-bit value, before it shows them."""
    if text.startswith("{"):
        return (0, tuple(_sort_value(element) for element in text[1:-1].split(",")))
    try:
        return (0, signed64(int(text)))
    except ValueError:
        return (1, text)


def state_lines(observed: tuple[Atom, ...], states: list[tuple[tuple[str, str], ...]],
                show: Callable[[tuple[tuple[str, str], ...]], tuple[tuple[str, str], ...]],
                arrays: frozenset[str] = frozenset()) -> list[str]:
    """The States lines of herd7's output, in herd7's order: ``states`` hold the full values in the order of
    ``observed``; ``show`` gives them as herd7 shows them."""
    order = sorted(range(len(observed)), key=lambda i: _order(observed[i]))
    rows = []
    for state in states:
        shown = show(state)
        entries = [(observed[i], shown[i][1]) for i in order]
        plain = [f"{_name_text(a, arrays)}={value};" for a, value in entries if not _is_fault(a)]
        faults = [("" if value == "1" else " ~") + _fault_text(a, capital=True) + ";"
                  for a, value in entries if _is_fault(a)]
        line = " ".join(plain) + (" " + " ".join(faults) if faults else "")
        rows.append(([(_order(observed[i]), _sort_value(state[i][1])) for i in order], line))
    return [line for _, line in sorted(rows)]
