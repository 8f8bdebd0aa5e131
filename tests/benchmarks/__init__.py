"""Benchmarks: `python -m tests.benchmarks [--quick] [--out FILE]`; figures P1–P7 against an embedded sandbox.

Files here are named bench_*.py so pytest does not collect them;
tests/test_benchmarks_smoke.py checks P1 only.
"""
