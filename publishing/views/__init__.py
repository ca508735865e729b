"""The public pages of the citizen portal: lookup with download, and signature verification."""
