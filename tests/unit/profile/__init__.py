"""Profiling rules, enrichment files and the objection classifier."""
