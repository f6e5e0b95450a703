"""Shared output helpers: stable JSON and safe file writes.

:func:`write_atomic` writes a regular file whole or not at all (a temporary file in the same
directory, then a rename) and respects what is already there, as ``cp`` does:

- ``-`` is standard output;
- a symlink is written through to the file it names, never replaced;
- an existing character device, FIFO or socket is written to (``/dev/null``, ``/dev/stdout``), never
  replaced by a regular file;
- a new file gets ``0666 & ~umask``; an existing file keeps its mode (and, for root, its owner);
- an unwritable target is one :class:`MemattrError` line (exit 2), never a traceback;
- the temporary file is removed on any error and on SIGINT/SIGTERM (the command line turns those
  signals into exceptions, see :mod:`memattr.cli`), so an interrupted run leaves nothing behind.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from typing import Any

from memattr.errors import MemattrError


def to_json(data: Any) -> str:
    """Stable machine output: two-space indent, keys in the order the producer built them."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _cannot(path: str, error: OSError | str) -> MemattrError:
    why = error if isinstance(error, str) else (error.strerror or str(error))
    return MemattrError(f"cannot write: {why}", source=path, expected="a writable file path (or - for standard output)")


def write_atomic(path: str | os.PathLike[str], text: str | bytes) -> None:
    """Write a whole file or nothing; see the module docstring for what is respected."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    name = os.fspath(path)
    if name == "-":
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    if "\x00" in name:
        raise _cannot(name.replace("\x00", "\\0"), "a path cannot contain a NUL byte")
    # Write through symlinks (as cp and shells do): the file to replace is the one the link names.
    target = os.path.realpath(name)
    try:
        info = os.stat(target)
    except FileNotFoundError:
        info = None
    except OSError as error:
        raise _cannot(name, error) from None
    if info is not None and stat.S_ISDIR(info.st_mode):
        raise _cannot(name, "is a directory")
    if info is not None and not stat.S_ISREG(info.st_mode):
        _write_through(name, target, data)
        return
    directory = os.path.dirname(target)
    if not os.path.isdir(directory):
        raise _cannot(name, f"no such directory {directory}")
    fd, tmp = _temporary(name, directory, os.path.basename(target))
    try:
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                if info is not None:
                    os.fchmod(handle.fileno(), stat.S_IMODE(info.st_mode))
                    if os.geteuid() == 0:
                        os.fchown(handle.fileno(), info.st_uid, info.st_gid)
                else:
                    os.fchmod(handle.fileno(), 0o666 & ~current_umask())
            os.replace(tmp, target)
        except OSError as error:
            raise _cannot(name, error) from None
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _temporary(name: str, directory: str, base: str) -> tuple[int, str]:
    """A new private file beside the target, as ``tempfile.mkstemp`` makes one (``O_EXCL``, mode 0600,
    not following a symlink), without importing ``tempfile`` and the modules it pulls in: a command
    that writes one small file (``table -o``) would spend a tenth of its time on that import."""
    flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = os.path.join(directory, f".{base}.{os.urandom(6).hex()}.tmp")
        try:
            return os.open(tmp, flags, 0o600), tmp
        except FileExistsError:
            continue
        except OSError as error:
            raise _cannot(name, error) from None
    raise _cannot(name, f"no free temporary name in {directory}")


def _write_through(name: str, target: str, data: bytes) -> None:
    """Write into an existing device, FIFO or socket path without replacing it."""
    try:
        with open(target, "wb", buffering=0) as handle:
            view = memoryview(data)
            while view:
                written = handle.write(view)
                view = view[written or len(view):]
    except OSError as error:
        raise _cannot(name, error) from None
