"""The audit trail's service layer: recording entries, their request context, verification."""
