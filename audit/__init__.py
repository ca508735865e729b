"""The tamper-evident audit trail: who did what to which document, chained by hash."""
