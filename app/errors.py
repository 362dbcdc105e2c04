"""The root of txwatch's exceptions.

Each error says whether trying again can help (``retriable``), so callers ask
the error instead of listing types.
"""


class TxwatchError(Exception):
    """Base class of every error txwatch raises on purpose."""

    retriable: bool = False


class ConfigurationError(TxwatchError):
    """A setting is missing or malformed: fix the named environment variable."""


class IncompatibleDependency(TxwatchError):
    """An installed library lacks a part txwatch relies on: install the pinned versions."""
