"""Errors the knowledge service raises to its callers."""
