"""idcheck's application: the HTTP service, its settings, and the command line."""
