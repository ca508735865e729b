"""The visible signature stamp: its text, place, drawing, font and shaping."""
