"""``motcua manage`` commands for sign-in."""
