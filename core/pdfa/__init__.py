"""Structural PDF/A-2b checks of the clauses motcua relies on."""
