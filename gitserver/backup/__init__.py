"""`gitserver backup DEST` and `gitserver restore SRC`: a consistent copy of a live server.

The database is read in ONE snapshot transaction (a SQLite WAL read transaction,
PostgreSQL REPEATABLE READ) and dumped logically, table by table in foreign-key order,
so a backup restores on either backend. Each repository's objects are copied AFTER the
snapshot (objects are only ever added, so the copy holds every object the snapshot's
refs need), and its refs are set to exactly the snapshot's `refs` table: refs, the push
ledger and the events agree. `prepared` rows of pushes under way are resolved by the
reconciler when a server starts on the restored data.

Layout of a backup directory (0700, files 0600: it holds secrets):

    manifest.json            format, time, versions, counts, sha256 of every file
    database/<table>.jsonl   one JSON object per row (tagged values, see `rows`)
    repos/<id>.git/          bare repositories: objects, config, HEAD, the snapshot's refs
    files/...                server.key, ssh host keys, pipeline logs and artifacts
"""

from gitserver.backup.errors import BackupError
from gitserver.backup.manifest import FORMAT, MANIFEST

__all__ = ["FORMAT", "MANIFEST", "BackupError"]
