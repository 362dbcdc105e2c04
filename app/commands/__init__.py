"""txwatch's command-line commands: ``faust -A app <command> --help``."""

from app.commands import evaluate, initdb, produce, replay, settings, train

__all__ = ["evaluate", "initdb", "produce", "replay", "settings", "train"]
