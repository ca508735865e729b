"""The publishing service layer: publication of signed results, delivery to citizens."""
