"""The demo: a realistic Nova database written beside the plugin, kept alive by --live; never touches real data."""
