"""check_nova_services: Nagios/Icinga check of Nova service heartbeats, read from Nova's databases."""

__version__ = "0.1.0"
