"""Watching the inbox folders and claiming finished scans as intakes."""
