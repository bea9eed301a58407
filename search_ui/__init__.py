"""search_ui package."""
