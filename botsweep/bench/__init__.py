"""Benchmarks that measure botsweep against a baseline in the same run (``botsweep bench``)."""
