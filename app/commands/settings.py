"""txwatch's command-line commands: ``faust -A app <command> --help``."""

from __future__ import annotations

import faust

from app import app, settings
from app.commands.base import Command


@app.command(base=Command)
async def show_settings(self: faust.cli.AppCommand) -> None:
    """Print the settings this worker would run with."""
    conf = app.conf
    self.say(f"app id          {conf.id}")
    self.say(f"broker          {', '.join(str(url) for url in conf.broker)}")
    self.say(f"store           {conf.store}")
    self.say(f"web             http://{conf.web_bind}:{conf.web_port} ({conf.canonical_url})")
    self.say(f"partitions      {conf.topic_partitions}")
    self.say(f"topic prefix    {settings.topic_prefix!r}")
    self.say(f"database        {settings.database_url}")
