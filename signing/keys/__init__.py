"""Signing keys: PKCS#12 files, PKCS#11 tokens and HSMs, and the checks of their certificates."""
