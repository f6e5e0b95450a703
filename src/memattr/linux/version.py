"""Kernel versions as values: ``6.6``, ``6.9.0-rc1``, ``6.8.0-45-generic`` all parse."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

from memattr.errors import MemattrError

_VERSION = re.compile(r"^v?(\d{1,4})\.(\d{1,4})(?:\.(\d{1,6}))?(?:[-+~_.].*)?$")


@total_ordering
@dataclass(frozen=True, slots=True)
class KernelVersion:
    major: int
    minor: int

    @classmethod
    def parse(cls, text: str) -> "KernelVersion":
        match = _VERSION.match(text.strip())
        if not match:
            raise MemattrError(
                f"malformed kernel version {text[:80]!r}",
                expected="MAJOR.MINOR such as 6.6, 6.9.0-rc1 or 6.8.0-45-generic",
            )
        return cls(int(match.group(1)), int(match.group(2)))

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, KernelVersion):
            return NotImplemented
        return (self.major, self.minor) < (other.major, other.minor)

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


def v(text: str) -> KernelVersion:
    return KernelVersion.parse(text)
