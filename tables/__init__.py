"""Faust tables: per-user state, changelogged and stored in RocksDB."""
