"""Benchmarks run by hand against PostgreSQL; see bench/README.md."""
