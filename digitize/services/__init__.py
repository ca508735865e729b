"""The digitize stage's service layer: what its tasks, recovery and intake call."""
