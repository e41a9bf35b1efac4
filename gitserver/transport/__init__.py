"""Git transports: pkt-lines, the git-process engine, smart HTTP, push hooks."""
