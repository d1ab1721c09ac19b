"""python -m check_nova_services.demo: the demo writer's command line."""

from check_nova_services.demo.cli import main

main()
