"""``motcua manage`` commands for scanner intake."""
