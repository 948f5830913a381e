"""Benchmarks, run by hand from the project root: `python -m bench.simulate`, `python -m bench.sandbox`."""
