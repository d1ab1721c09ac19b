"""The command line: options in groups, arguments -> settings -> check or list, and the exit-code discipline."""
