"""``motcua audit``: verify and export the audit trail."""
