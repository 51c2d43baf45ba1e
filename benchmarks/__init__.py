"""Benchmarks: figures as ratios against the seed's method, run in the same process (``make bench``)."""
