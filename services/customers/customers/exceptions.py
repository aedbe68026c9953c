"""Errors the customers service raises to its callers."""
