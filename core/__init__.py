"""The pure base below every package: files, Vietnam time, passphrases, dispositions, PDF/A."""
