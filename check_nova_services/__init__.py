"""check_nova_services: Nagios/Icinga check of Nova service heartbeats, read from Nova's databases."""

__version__ = "0.1.0"

#: The prefix of every status line: "NOVA_SERVICES OK - ...".
CHECK_NAME = "NOVA_SERVICES"
