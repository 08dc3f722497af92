"""Benchmarks (`make bench`): each submodule has `run(args) -> dict` and prints its own table.

Speed is measured here, never in timed tests. Results are also written to
outputs/bench/<name>.json so a note can quote a file anyone can regenerate.
"""
