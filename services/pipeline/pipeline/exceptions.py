"""Errors the pipeline service raises to its callers."""
