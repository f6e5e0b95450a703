"""The one exception type for bad input, carrying where the problem is."""

from __future__ import annotations

import re


class MemattrError(Exception):
    """Bad input: what was wrong, where (file and line when known), and what was expected.

    The command line prints ``str(error)`` as one line and exits with status 2.
    """

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None,
                 expected: str | None = None, verbatim: bool = False) -> None:
        self.message = message
        self.verbatim = verbatim  # the message is already made of shortened error lines
        self.source = source
        self.line = line
        self.expected = expected
        super().__init__(str(self))

    def __str__(self) -> str:  # one line, always
        where = ""
        if self.source is not None:
            # File names stay whole, unless absurdly long (a mistaken argument): then their two ends.
            source = self.source if len(self.source) <= 240 else f"{self.source[:120]}\u2026{self.source[-80:]}"
            where = f"{source}:{self.line}: " if self.line is not None else f"{source}: "
        text = self.message if self.verbatim else shorten(one_line(self.message), MESSAGE_LIMIT)
        if self.expected:
            text += f" (expected {one_line(self.expected)})"
        return " ".join(f"{where}{text}".replace("\r", " ").split("\n"))


def one_line(text: str) -> str:
    """``text`` on one line, each quoted piece of input cut to about 80 characters."""
    # No quoted piece of input longer than about 80 characters (the file name in ``where`` stays whole).
    words = re.sub(r"\s{4,}", "   ", text.replace("\r", " ").replace("\n", " ")).split(" ")
    return " ".join(shorten(word) for word in words)


QUOTE_LIMIT = 80
MESSAGE_LIMIT = 240  # a message quoting several pieces of input still fits on a line or two


def shorten(text: str, limit: int = QUOTE_LIMIT) -> str:
    """``text`` cut to about ``limit`` characters with an ellipsis, for quoting input in error lines."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def join_problems(problems: list[MemattrError], limit: int = 10) -> MemattrError:
    """One error standing for several: the first ``limit`` in full, then how many more."""
    if len(problems) == 1:
        return problems[0]
    shown = "; ".join(str(p) for p in problems[:limit])
    more = f"; and {len(problems) - limit} more" if len(problems) > limit else ""
    return MemattrError(f"{len(problems)} problems: {shown}{more}", verbatim=True)


def find_named(items, name: str, what: str):  # type: ignore[no-untyped-def]
    """The item of ``items`` whose ``name`` is ``name``, or a MemattrError listing the valid names."""
    for item in items:
        if item.name == name:
            return item
    raise MemattrError(f"unknown {what} {name!r}", expected=f"one of {', '.join(i.name for i in items)}")
