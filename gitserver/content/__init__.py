"""Repository content without a working tree: reading, history, and writing commits."""
