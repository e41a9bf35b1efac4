"""The web UI: pages over the services, rendered on the server."""
