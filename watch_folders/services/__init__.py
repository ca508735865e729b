"""The watch-folder service layer: claiming quiet folders and the watcher loop."""
