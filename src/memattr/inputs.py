"""The one input layer: every file memattr reads comes through here.

Only regular files are read (and ``-``, standard input, where a command says so); a FIFO, a device,
a socket or a directory handed in as a file is refused at once, before any read could block or run
forever.  Each kind of input has a size cap large enough for real hosts; text is decoded strictly as
UTF-8 and a bad byte is reported with its line and column.  Numbers in text go through
:func:`parse_int`, which refuses absurd lengths before Python's own digit limit turns them into a
traceback.  Error lines quote at most about 80 characters of input (:func:`shorten`).
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from memattr.errors import MemattrError, shorten

MiB = 1 << 20

# Size caps per input kind.  Real inputs are far smaller: the largest /proc/kallsyms seen is ~20 MiB,
# a kernel_page_tables dump of a 1 TiB host ~40 MiB, a whole-boot kernel log a few MiB.
LIMITS: dict[str, int] = {
    "iomem": 16 * MiB,
    "vmallocinfo": 64 * MiB,
    "modules": 4 * MiB,
    "kallsyms": 64 * MiB,
    "config": 16 * MiB,
    "release": 4096,
    "sysfs": 1 * MiB,  # each file of a sysfs PCI device directory
    "fdt": 16 * MiB,
    "ptdump": 256 * MiB,
    "stage2": 256 * MiB,
    "lspci": 64 * MiB,
    "dmesg": 128 * MiB,
    "mtree": 64 * MiB,
    "rules": 1 * MiB,
    "kinds": 16 * MiB,
    "litmus": 4 * MiB,
    "vectors": 512 * MiB,
    "collect": 256 * MiB,  # any one file `memattr collect` copies
}


def limits_help() -> str:
    """The size caps, for ``--help`` texts."""
    def size(n: int) -> str:
        return f"{n // MiB} MiB" if n >= MiB else f"{n} bytes"
    return ", ".join(f"{kind} {size(n)}" for kind, n in LIMITS.items() if kind != "collect")


_KINDS_OF_FILE = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def describe_mode(mode: int) -> str:
    for test, name in _KINDS_OF_FILE:
        if test(mode):
            return name
    return "not a regular file"


def _require_regular(mode: int, name: str, kind: str) -> None:
    if not stat.S_ISREG(mode):
        raise MemattrError(f"is {describe_mode(mode)}, not a regular file", source=name,
                           expected=f"a regular {kind} file")


def read_bytes(path: str | os.PathLike[str], kind: str, *, label: str | None = None,
               limit: int | None = None, allow_stdin: bool = False) -> bytes:
    """The whole content of a regular file (or standard input for ``-``), at most the kind's cap."""
    cap = LIMITS[kind] if limit is None else limit
    name = label or str(path)
    if allow_stdin and str(path) == "-":
        data = sys.stdin.buffer.read(cap + 1)
        if len(data) > cap:
            raise MemattrError(f"standard input is larger than the {kind} limit of {cap} bytes", source="-",
                               expected=f"a {kind} input of at most {cap} bytes")
        return data
    # O_NONBLOCK: opening a FIFO must not wait for a writer; the file type is checked before any read.
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    if "\x00" in os.fspath(path):
        raise MemattrError("a path cannot contain a NUL byte", source=name.replace("\x00", "\\0"),
                           expected=f"a {kind} file")
    try:
        fd = os.open(path, flags)
    except OSError as error:
        raise MemattrError(f"cannot read: {error.strerror or error}", source=name,
                           expected=f"a readable {kind} file") from None
    try:
        info = os.fstat(fd)
        _require_regular(info.st_mode, name, kind)
        if info.st_size > cap:
            raise MemattrError(f"is {info.st_size} bytes, over the {kind} limit of {cap} bytes", source=name,
                               expected=f"a {kind} input of at most {cap} bytes")
        os.set_blocking(fd, True)
        chunks = []
        total = 0
        # /proc and /sys files report size 0: read to EOF, never past the cap.
        while True:
            chunk = os.read(fd, min(1 << 20, cap + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > cap:
                raise MemattrError(f"is over the {kind} limit of {cap} bytes", source=name,
                                   expected=f"a {kind} input of at most {cap} bytes")
        return b"".join(chunks)
    except OSError as error:
        raise MemattrError(f"cannot read: {error.strerror or error}", source=name) from None
    finally:
        os.close(fd)


def decode_utf8(data: bytes, name: str, kind: str) -> str:
    """Strict UTF-8, with the line and column of the first bad byte in the error."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise MemattrError(f"byte {data[error.start]:#04x} at column {column} (offset {error.start}) is not UTF-8",
                           source=name, line=line, expected=f"a UTF-8 text {kind} file") from None


def read_text(path: str | os.PathLike[str], kind: str, *, label: str | None = None,
              allow_stdin: bool = False) -> str:
    """A regular file's text, decoded strictly as UTF-8, at most the kind's cap."""
    name = label or str(path)
    return decode_utf8(read_bytes(path, kind, label=name, allow_stdin=allow_stdin), name, kind)


def check_regular(path: str | os.PathLike[str], kind: str, *, label: str | None = None) -> Path:
    """``path`` itself if it is a regular file (following links); a MemattrError otherwise."""
    name = label or str(path)
    try:
        info = os.stat(path)
    except (OSError, ValueError) as error:
        raise MemattrError(f"cannot read: {error.strerror or error}", source=name,
                           expected=f"a {kind} file") from None
    _require_regular(info.st_mode, name, kind)
    return Path(path)


# The longest number text memattr accepts: 64-bit values are 16 hex or 20 decimal digits; leading
# zeros (ptdump pads to 16) are allowed up to this length.
MAX_DIGITS = 40


def parse_int(text: str, base: int, *, source: str | None = None, line: int | None = None,
              what: str = "a number", bits: int | None = 64) -> int:
    """``int(text, base)`` for numbers read from input, with a clear error instead of a traceback."""
    digits = text.strip()
    body = digits[2:] if base in (0, 16) and digits[:2].lower() in ("0x", "0b", "0o") else digits
    body = body.lstrip("+-")
    if len(body.lstrip("0")) > MAX_DIGITS:
        raise MemattrError(f"number of {len(body)} digits", source=source, line=line,
                           expected=f"{what} of at most {MAX_DIGITS} digits")
    if not body.isascii():
        raise MemattrError(f"not a number: {shorten(digits)!r}", source=source, line=line, expected=what)
    try:
        value = int(digits, base)
    except ValueError:
        raise MemattrError(f"not a number: {shorten(digits)!r}", source=source, line=line, expected=what) from None
    if bits is not None and not 0 <= value < 1 << bits:
        raise MemattrError(f"{shorten(digits)} does not fit in {bits} bits", source=source, line=line,
                           expected=what)
    return value
