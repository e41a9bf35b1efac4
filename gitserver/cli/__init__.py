"""The `gitserver` command line."""
