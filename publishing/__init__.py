"""Publishing of signed results to citizens."""
