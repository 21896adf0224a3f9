"""Benchmark peers; ``python -m perceptrons.benchmark`` runs them. Nothing here is imported by the core."""
