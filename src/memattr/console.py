"""The ``memattr`` console script and ``python -m memattr``: the command line in a process of its own."""

from __future__ import annotations

import gc
import sys


def main() -> int:
    """Import the command line and the command's module, then run it with the cyclic collector on.

    A command runs once and exits, and what it imports (click, the model's classes and tables) lives
    until then, so the collector's passes over those objects while importing are pure cost: about 7 ms,
    a twentieth, of ``memattr table --json``.  Collect nothing while importing, then freeze what was
    imported (later passes skip it) and run the command as usual.
    """
    gc.disable()
    try:
        from memattr.cli import import_command, main as run

        if len(sys.argv) > 1:
            import_command(sys.argv[1])
    finally:
        gc.freeze()
        gc.enable()
    return run()
