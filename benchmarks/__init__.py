"""Benchmarks: each compares a local stand-in with a named alternative in the same run."""
