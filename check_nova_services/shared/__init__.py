"""Small pieces every layer may use: exceptions, ISO-8601 instants, safe one-line text, secrets masked, the run's deadline."""
