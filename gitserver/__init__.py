"""gitserver: a self-hosted Git server that CodeCommit clients can use unchanged."""

__version__ = "0.1.0"
