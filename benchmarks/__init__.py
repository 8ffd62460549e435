"""Benchmarks: `manage.py bench_import`, `bench_match`, `bench_digests` (`make bench`; docs/benchmarks.md).

Kept out of the apps' domain code: they only call the apps' public services.
"""
