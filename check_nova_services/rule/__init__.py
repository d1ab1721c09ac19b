"""The rule and the policy, pure: Nova's heartbeat rule, the plugin's policy on top of it, thresholds, which services a run
is about, what a database node says of its own data. No I/O, no SQLAlchemy, no nagiosplugin."""
