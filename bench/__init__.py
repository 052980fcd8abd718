"""Benchmarks: `python -m bench [filter]` prints one `name: value unit` line per figure."""
