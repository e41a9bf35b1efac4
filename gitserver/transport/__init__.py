"""Git transports: pkt-lines, the git-process engine, smart HTTP, SSH, push hooks."""
