"""The back office's pages: start, dossiers, refused scans and watched folders."""
