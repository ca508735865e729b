"""The back office's queries: dossier lists and pages, refused scans, watched folders, start."""
