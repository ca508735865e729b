"""Commands of the accounts application."""
