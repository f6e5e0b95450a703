"""The one exception type for bad input, carrying where the problem is."""

from __future__ import annotations


class MemattrError(Exception):
    """Bad input: what was wrong, where (file and line when known), and what was expected.

    The command line prints ``str(error)`` as one line and exits with status 2.
    """

    def __init__(self, message: str, *, source: str | None = None, line: int | None = None,
                 expected: str | None = None) -> None:
        self.message = message
        self.source = source
        self.line = line
        self.expected = expected
        super().__init__(str(self))

    def __str__(self) -> str:  # one line, always
        where = ""
        if self.source is not None:
            where = f"{self.source}:{self.line}: " if self.line is not None else f"{self.source}: "
        text = f"{where}{self.message}"
        if self.expected:
            text += f" (expected {self.expected})"
        return " ".join(text.split("\n"))


def find_named(items, name: str, what: str):  # type: ignore[no-untyped-def]
    """The item of ``items`` whose ``name`` is ``name``, or a MemattrError listing the valid names."""
    for item in items:
        if item.name == name:
            return item
    raise MemattrError(f"unknown {what} {name!r}", expected=f"one of {', '.join(i.name for i in items)}")
