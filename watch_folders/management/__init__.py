"""Commands of the watch-folder package."""
