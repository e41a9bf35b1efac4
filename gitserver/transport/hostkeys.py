"""The server's SSH host keys: made once in `DATA/ssh` (mode 0600) and reused after.

Clients pin these keys in `known_hosts`, so they must survive restarts and be the same
for every server process sharing the data directory: a key is written under a temporary
name and linked into place, and whoever loses the race reads the winner's key.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncssh

# (algorithm, file name, generation options), in the order clients are offered them.
HOST_KEYS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("ssh-ed25519", "ssh_host_ed25519_key", {}),
    ("ssh-rsa", "ssh_host_rsa_key", {"key_size": 3072}),
)
_LABELS = {"ssh-ed25519": "ED25519", "ssh-rsa": "RSA"}


@dataclass(frozen=True, slots=True)
class HostKey:
    path: Path
    key: asyncssh.SSHKey

    @property
    def algorithm(self) -> str:
        return str(self.key.get_algorithm())

    @property
    def public_key(self) -> str:
        """The `type base64` pair that follows the host pattern in a known_hosts line."""
        public = self.key.convert_to_public()
        public.set_comment(None)
        return bytes(public.export_public_key("openssh")).decode().strip()

    def fingerprint(self, hash_name: str = "sha256") -> str:
        return str(self.key.get_fingerprint(hash_name))

    def describe(self) -> str:
        """One line as `ssh-keygen -l` would print it."""
        return f"{self.fingerprint()} ({_LABELS.get(self.algorithm, self.algorithm)})"

    def known_hosts_line(self, host: str, port: int) -> str:
        pattern = host if port == 22 else f"[{host}]:{port}"
        return f"{pattern} {self.public_key}"

    def as_json(self, host: str, port: int) -> dict[str, str]:
        return {
            "type": self.algorithm,
            "fingerprintSHA256": self.fingerprint(),
            "fingerprintMD5": self.fingerprint("md5").removeprefix("MD5:"),
            "publicKey": self.public_key,
            "knownHostsLine": self.known_hosts_line(host, port),
        }


def host_keys_dir(data: Path) -> Path:
    return data.resolve() / "ssh"


def load_host_keys(directory: Path) -> list[HostKey]:
    """Read the host keys in `directory`, creating the missing ones (blocking: CPU and disk)."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    keys = []
    for algorithm, name, options in HOST_KEYS:
        path = directory / name
        if not path.exists():
            _create(path, algorithm, options)
        path.chmod(0o600)
        keys.append(HostKey(path, asyncssh.read_private_key(str(path))))
    return keys


def _create(path: Path, algorithm: str, options: dict[str, Any]) -> None:
    key = asyncssh.generate_private_key(algorithm, comment="gitserver host key", **options)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.export_private_key("openssh"))
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(tmp, path)  # fails if another process got there first: keep theirs
    except FileExistsError:
        pass
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
