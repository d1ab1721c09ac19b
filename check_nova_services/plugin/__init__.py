"""nagiosplugin's three steps: the Resource yields Metrics, the Contexts judge them, the Summary hands the Reading to
output/; check.py assembles them from the settings."""
