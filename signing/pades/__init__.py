"""PAdES signatures with pyHanko: signing, evidence (timestamps, revocation), resuming."""
