"""The service layer of sign-in: second-factor devices and session rules."""
