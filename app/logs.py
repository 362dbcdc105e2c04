"""Keeping library debug logging off the per-event path."""

from __future__ import annotations

import logging


def undo_spinner_debug_level() -> None:
    """Set the root logger back to its handlers' level when Faust's spinner lowered it.

    With a log level of WARN or above, Faust's progress spinner sets the root
    logger to DEBUG so that it can spin on every record: aiokafka and Faust
    then build several debug records per event, only to drop them.
    """
    root = logging.getLogger()
    levels = [h.level for h in root.handlers if type(h).__name__ != "SpinnerHandler"]
    if root.level == logging.DEBUG and levels and min(levels) > logging.DEBUG:
        root.setLevel(min(levels))
