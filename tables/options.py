"""RocksDB options for txwatch's tables.

Faust opens one RocksDB database per table partition, each with its own block
cache: its default (2 GiB cache, 3 x 64 MiB write buffers per partition) would
let eight partitions of two tables reserve far more memory than a worker
needs. These sizes are per partition and come from the environment.
"""

from __future__ import annotations

from typing import Any

from app import settings

MIB = 1024 * 1024


def rocksdb_options() -> dict[str, Any]:
    """A fresh options mapping for one table (Faust mutates the one it is given)."""
    return {
        "block_cache_size": settings.rocksdb_cache_mb * MIB,
        "write_buffer_size": settings.rocksdb_write_buffer_mb * MIB,
        "max_write_buffer_number": 2,
        "target_file_size_base": 16 * MIB,
        "max_open_files": 256,
    }
