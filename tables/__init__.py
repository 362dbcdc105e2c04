"""Faust tables: per-user state, changelogged and stored in RocksDB."""

# The app first: it registers this package's modules when it is imported, and
# those import one another; entered through one of them (``import tables.x``
# before ``import app``), the app would find that module half-loaded.
import app  # noqa: F401
