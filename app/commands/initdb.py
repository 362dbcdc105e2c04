"""``faust -A app initdb``: create or upgrade txwatch's tables in PostgreSQL."""

from __future__ import annotations

import click
import psycopg
from faust.cli import AppCommand

from app import app, settings
from app.commands.base import Command
from app.database.schema import MIGRATIONS, migrate


@app.command(base=Command)
async def initdb(self: AppCommand) -> None:
    """Apply the schema migrations DATABASE_URL's database lacks (workers do this at start too)."""
    try:
        async with await psycopg.AsyncConnection.connect(settings.database_url) as conn:
            applied = await migrate(conn)
    except psycopg.OperationalError as exc:
        raise click.ClickException(f"cannot reach the database: {exc}".strip()) from None
    latest = MIGRATIONS[-1][0]
    if applied:
        self.say(f"applied migrations {', '.join(map(str, applied))}; schema at version {latest}")
    else:
        self.say(f"schema already at version {latest}")
