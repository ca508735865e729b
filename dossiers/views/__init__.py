"""Back-office pages of the one-stop desk: registering, receipts, secrets reissued, imports, API."""
