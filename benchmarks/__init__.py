"""Benchmarks: tinyae against PyTorch CPU. ``python -m benchmarks`` (whole models), ``python -m benchmarks.conv``."""
