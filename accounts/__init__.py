"""Sign-in for the back office: password throttling, the second factor, sessions by role."""
