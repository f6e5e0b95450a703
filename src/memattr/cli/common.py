"""Parameter types and output helpers shared by the command modules."""

from __future__ import annotations

from typing import Any

import click

from memattr.output import to_json


class PathArg(click.Path):
    """``click.Path`` that refuses a NUL byte with a usage error (``os.stat`` would raise ValueError)."""

    def convert(self, value, param, ctx):  # type: ignore[no-untyped-def]
        if isinstance(value, str) and "\x00" in value:
            self.fail("a path cannot contain a NUL byte", param, ctx)
        return super().convert(value, param, ctx)


class Number(click.ParamType):
    """An unsigned integer of at most ``bits`` bits, written in hex (0x), binary (0b) or decimal."""

    name = "number"

    def __init__(self, bits: int, what: str) -> None:
        self.bits = bits
        self.what = what

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            number = value
        else:
            text = str(value).strip().replace("_", "")
            try:
                number = int(text, 0)
            except ValueError:
                self.fail(
                    f"{value!r} is not a number; expected {self.what} in hex (0x..), binary (0b..) or decimal",
                    param, ctx,
                )
        if not 0 <= number < 1 << self.bits:
            self.fail(f"{value!r} does not fit in {self.bits} bits; expected {self.what}", param, ctx)
        return number


def console(min_width: int = 0):  # type: ignore[no-untyped-def]
    """A rich console; ``min_width`` widens it for wide tables when standard output is not a terminal."""
    from rich.console import Console  # imported on first use: the JSON paths never pay for rich

    probe = Console(highlight=False, soft_wrap=False)
    if min_width and probe.width < min_width:
        return Console(highlight=False, soft_wrap=False, width=min_width)
    return probe


def emit_json(data: Any) -> None:
    click.echo(to_json(data), nl=False)
