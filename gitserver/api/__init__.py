"""The CodeCommit JSON API front end: dispatcher, model checks, operations."""
