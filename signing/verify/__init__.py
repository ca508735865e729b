"""Verification of signed PDFs: integrity, trust, timestamps, revocation, changes."""
