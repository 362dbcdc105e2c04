"""The base of txwatch's async commands: a usage error ends them as click's own do.

Faust runs an async command inside a worker, which logs any exception the
command raises with its traceback. A mistyped option then printed nearly
forty lines instead of one. This base catches click's errors inside the
worker and, once it has stopped, shows them as click does (``Error: ...``,
with the usage line for a usage error) and exits with click's status (2 for
a usage error, 1 for others).
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn

import click
from faust.cli import AppCommand


class Command(AppCommand):
    """:class:`faust.cli.AppCommand` whose click errors reach click, not the worker's log."""

    _click_error: click.ClickException | None = None

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        """Run the command; a click error is kept for after the worker has stopped."""
        try:
            return await super().execute(*args, **kwargs)
        except click.ClickException as exc:
            self._click_error = exc
            return None

    def run_using_worker(self, *args: Any, **kwargs: Any) -> NoReturn:
        """Faust's; then, if the command raised a click error, that error shown and its status."""
        try:
            super().run_using_worker(*args, **kwargs)
        except SystemExit:
            error = self._click_error
            if error is None:
                raise
            if isinstance(error, click.UsageError) and error.ctx is None:
                error.ctx = click.get_current_context(silent=True)
            # Shown here, not raised: Faust's wrapper around every command
            # prints any exception with its traceback, and exits with 1.
            error.show()
            sys.exit(error.exit_code)
