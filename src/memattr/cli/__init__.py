"""The ``memattr`` command line: a thin shell over the library layers.

Each command group lives in its own module of this package; this module owns the group, the
exit-code contract (0 success, 1 findings/mismatches when asked, 2 bad input) and the rule that a
user error is one line on standard error, never a traceback.
"""

from __future__ import annotations

import importlib
import signal
import sys

import click

from memattr import __version__
from memattr.errors import MemattrError, one_line


# Which module defines each command: a module is imported only when one of its commands runs, so
# `memattr litmus` does not pay for importing the audit layer (and `--help` imports them all).
COMMAND_MODULES = {
    "decode": "arch_cmds", "combine": "arch_cmds", "table": "arch_cmds",
    "demo": "demo_cmds",
    "trace": "linux_cmds", "policies": "linux_cmds", "facts": "linux_cmds",
    "audit": "audit_cmds", "inventory": "audit_cmds", "collect": "audit_cmds",
    "litmus": "litmus_cmds",
    "vectors": "conformance_cmds", "conformance": "conformance_cmds",
    "lab": "lab_cmds",
}


def import_command(name: str) -> None:
    """Import the module that defines command ``name`` (nothing for a name no module defines)."""
    module = COMMAND_MODULES.get(name)
    if module is not None:
        importlib.import_module(f"memattr.cli.{module}")


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMAND_MODULES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            import_command(cmd_name)
        return self.commands.get(cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="memattr")
def app() -> None:
    """Model and audit Arm64 memory attributes of device memory mapped into virtual machines."""


def _register() -> None:
    """Import every command module (for callers that want the whole command table)."""
    for module in sorted(set(COMMAND_MODULES.values())):
        importlib.import_module(f"memattr.cli.{module}")


class Terminated(BaseException):
    """SIGTERM (or SIGHUP) arrived: unwind, so every ``finally`` removes its temporary files."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _terminate(signum: int, frame: object) -> None:
    raise Terminated(signum)


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit status (the console script exits with it)."""
    previous = {}
    for signum in (signal.SIGTERM, signal.SIGHUP):
        try:
            previous[signum] = signal.signal(signum, _terminate)
        except ValueError:  # not the main thread (an embedding caller): leave signals alone
            pass
    try:
        return _main(argv)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _main(argv: list[str] | None) -> int:
    try:
        result = app.main(args=argv, prog_name="memattr", standalone_mode=False)
    except Terminated as stop:
        click.echo(f"memattr: stopped by signal {stop.signum}", err=True)
        return 128 + stop.signum
    except KeyboardInterrupt:
        click.echo("memattr: interrupted", err=True)
        return 130
    except RecursionError:
        click.echo("memattr: error: input nested too deeply (expected ordinary nesting)", err=True)
        return 2
    except OSError as error:  # a path the system refuses (too long, a loop of links...) reached a stat()
        where = f"{error.filename}: " if isinstance(error.filename, str) else ""
        click.echo(f"memattr: error: {one_line(where + (error.strerror or str(error)))}", err=True)
        return 2
    except MemattrError as error:
        click.echo(f"memattr: error: {error}", err=True)
        return 2
    except click.exceptions.Abort:
        click.echo("memattr: aborted", err=True)
        return 130
    except click.ClickException as error:
        # Usage errors: one line naming the offending parameter and what was expected.
        click.echo(f"memattr: error: {one_line(' '.join(error.format_message().split()))}", err=True)
        return 2 if isinstance(error, click.UsageError) else error.exit_code
    except BrokenPipeError:
        return 0
    # A command signals findings or mismatches by returning (or ctx.exit-ing with) an int.
    return result if isinstance(result, int) else 0
