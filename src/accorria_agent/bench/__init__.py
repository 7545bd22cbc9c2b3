"""Benchmarks: simulated buyers against the real negotiation pipeline, with figures worth comparing."""
