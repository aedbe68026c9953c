"""Errors the notify service raises to its callers."""
