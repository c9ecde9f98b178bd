"""The pytest plugin entry point (options, fixtures and collection come with their issues)."""
