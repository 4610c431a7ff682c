"""Reproducible benchmarks; each writes its figures as JSON under benchmarks/results/."""
