from check_nova_services.cli.main import main

main()
