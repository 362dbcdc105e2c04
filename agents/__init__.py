"""Faust agents: the stream processors."""
