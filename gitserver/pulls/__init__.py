"""Pull requests: the domain service the API, the web UI, the CLI and git pushes share."""
