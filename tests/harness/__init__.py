"""The test harness: private servers and daemons the suite starts (MariaDB, Galera, an async replica, Icinga 2,
NRPE, Nagios), Nova itself in a venv of its own, fault helpers, and in-memory factories of rows and readings."""
