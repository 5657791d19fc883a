"""Benchmarks: one module per target, each `python -m bench.NAME`, results in docs/benchmarks.md."""
