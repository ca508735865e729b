"""The domain model of dossiers, offices and procedures."""
