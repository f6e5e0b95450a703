"""The ``memattr`` command line: a thin shell over the library layers.

Each command group lives in its own module of this package; this module owns the group, the
exit-code contract (0 success, 1 findings/mismatches when asked, 2 bad input) and the rule that a
user error is one line on standard error, never a traceback.
"""

from __future__ import annotations

import sys

import click

from memattr import __version__
from memattr.errors import MemattrError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="memattr")
def app() -> None:
    """Model and audit Arm64 memory attributes of device memory mapped into virtual machines."""


def _register() -> None:
    # One line per command module; each module adds its commands to ``app``.
    from memattr.cli import arch_cmds  # noqa: F401
    from memattr.cli import demo_cmds  # noqa: F401
    from memattr.cli import linux_cmds  # noqa: F401
    from memattr.cli import audit_cmds  # noqa: F401
    from memattr.cli import litmus_cmds  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit status (the console script exits with it)."""
    _register()
    try:
        result = app.main(args=argv, prog_name="memattr", standalone_mode=False)
    except MemattrError as error:
        click.echo(f"memattr: error: {error}", err=True)
        return 2
    except click.exceptions.Abort:
        click.echo("memattr: aborted", err=True)
        return 130
    except click.ClickException as error:
        # Usage errors: one line naming the offending parameter and what was expected.
        click.echo(f"memattr: error: {' '.join(error.format_message().split())}", err=True)
        return 2 if isinstance(error, click.UsageError) else error.exit_code
    except BrokenPipeError:
        return 0
    # A command signals findings or mismatches by returning (or ctx.exit-ing with) an int.
    return result if isinstance(result, int) else 0
