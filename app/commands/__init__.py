"""txwatch's command-line commands: ``faust -A app <command> --help``."""

from app.commands import evaluate, produce, replay, settings, train

__all__ = ["evaluate", "produce", "replay", "settings", "train"]
