"""``make bench``: throughput, latency and memory of txwatch on the local stack."""
