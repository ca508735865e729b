"""The dossier service layer: state transitions, registration, search, recovery queries."""
