"""SSH public keys in IAM's shape (`UploadSSHPublicKey`): parsing, policy, storage, login.

A key belongs to one user only: its SHA256 fingerprint is unique across the server, so
a login by key finds exactly one owner. Accepted: ed25519 and ECDSA (also their FIDO
`sk-` forms) and RSA of 2048 bits or more; DSA and short RSA keys are refused with the
reason. The SSH user name at login is the owner's user name or the key's SSHPublicKeyId
(`APKA` + 16 upper-case alphanumerics), as CodeCommit documents.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from auth import ids
from auth.errors import AlreadyExists, AuthenticationFailed, InvalidInput, LimitExceeded
from auth.identities import get_user
from auth.owned import SSH_KEYS
from gitserver.db import SSHPublicKey, User

MAX_SSH_KEYS = 5  # IAM's default quota of SSH public keys per user
MAX_BODY = 16384  # IAM: SSHPublicKeyBody is at most 16384 characters
MIN_RSA_BITS = 2048
list_ssh_keys = SSH_KEYS.list
set_ssh_key_status = SSH_KEYS.set_status
delete_ssh_key = SSH_KEYS.delete
_ACCEPTED = frozenset(
    {
        "ssh-ed25519",
        "sk-ssh-ed25519@openssh.com",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ecdsa-sha2-nistp256@openssh.com",
        "ssh-rsa",
    }
)


@dataclass(frozen=True, slots=True)
class ParsedKey:
    """A validated public key, normalized to one OpenSSH line."""

    algorithm: str
    body: str
    bits: int
    fingerprint_md5: str  # colon hex, as IAM's `Fingerprint`
    fingerprint_sha256: str  # `SHA256:<base64>`, as `ssh-keygen -l` prints it


def _key_count(text: str) -> int:
    if "-----BEGIN" in text or "---- BEGIN" in text:
        return text.count("BEGIN")
    return sum(1 for line in text.splitlines() if line.strip() and not line.startswith("#"))


def parse_public_key(text: str) -> ParsedKey:
    """Parse and check one public key (OpenSSH line, RFC 4716 or PEM).

    Raises:
        InvalidInput: not exactly one public key, or a kind or size that is refused.
    """
    import asyncssh  # only here: the CLI's other commands start without it

    text = text.strip()
    if not text:
        raise InvalidInput("the SSH public key is empty")
    if len(text) > MAX_BODY:
        raise InvalidInput(f"the SSH public key is longer than {MAX_BODY} characters")
    if "PRIVATE KEY" in text:
        raise InvalidInput("this is a private key: give the public key (the .pub file)")
    if _key_count(text) != 1:
        raise InvalidInput("give exactly one SSH public key")
    try:
        key = asyncssh.import_public_key(text)
    except (asyncssh.KeyImportError, ValueError) as exc:
        raise InvalidInput(f"not a supported SSH public key: {exc}") from None
    algorithm = key.get_algorithm()
    if algorithm == "ssh-dss":
        raise InvalidInput(
            "DSA keys are refused (OpenSSH no longer accepts them): use ed25519, ecdsa or RSA"
        )
    if algorithm not in _ACCEPTED:
        raise InvalidInput(f"{algorithm} keys are refused: use ed25519, ecdsa or RSA")
    bits = int(getattr(key.pyca_key, "key_size", 0) or 256)
    if algorithm == "ssh-rsa" and bits < MIN_RSA_BITS:
        raise InvalidInput(f"RSA keys need at least {MIN_RSA_BITS} bits; this one has {bits}")
    comment = key.get_comment()
    key.set_comment(None)
    line = key.export_public_key("openssh").decode().strip()
    return ParsedKey(
        algorithm=algorithm,
        body=f"{line} {comment}" if comment else line,
        bits=bits,
        fingerprint_md5=key.get_fingerprint("md5").removeprefix("MD5:"),
        fingerprint_sha256=key.get_fingerprint("sha256"),
    )


async def add_ssh_key(session: AsyncSession, user_name: str, text: str) -> SSHPublicKey:
    """Register a public key for `user_name`.

    Raises:
        NotFound: no such user.
        InvalidInput: the key is malformed or of a refused kind.
        AlreadyExists: the key is registered already (to anyone).
        LimitExceeded: the user has MAX_SSH_KEYS keys.
    """
    user = await get_user(session, user_name)
    parsed = parse_public_key(text)
    count = await session.scalar(
        select(func.count()).select_from(SSHPublicKey).where(SSHPublicKey.user_id == user.id)
    )
    if (count or 0) >= MAX_SSH_KEYS:
        raise LimitExceeded(f"user {user_name} already has {MAX_SSH_KEYS} SSH keys; delete one")
    taken = await session.scalar(
        select(SSHPublicKey.id).where(SSHPublicKey.fingerprint_sha256 == parsed.fingerprint_sha256)
    )
    if taken:
        raise AlreadyExists(f"this SSH public key is already registered ({taken})")
    key = SSHPublicKey(
        id=ids.ssh_key_id(),
        user_id=user.id,
        body=parsed.body,
        algorithm=parsed.algorithm,
        bits=parsed.bits,
        fingerprint_md5=parsed.fingerprint_md5,
        fingerprint_sha256=parsed.fingerprint_sha256,
        status="Active",
    )
    session.add(key)
    try:
        await session.flush()
    except IntegrityError:
        # Two uploads of one key raced past the check; the unique index decided.
        raise AlreadyExists("this SSH public key is already registered") from None
    return key


async def find_login(
    session: AsyncSession, ssh_user: str, fingerprint_sha256: str
) -> tuple[SSHPublicKey, User] | None:
    """The active key with this fingerprint, if `ssh_user` names its owner or the key."""
    row = (
        await session.execute(
            select(SSHPublicKey, User)
            .join(User, User.id == SSHPublicKey.user_id)
            .where(SSHPublicKey.fingerprint_sha256 == fingerprint_sha256)
        )
    ).first()
    if row is None:
        return None
    key, user = row[0], row[1]
    if key.status != "Active" or ssh_user not in (user.name, key.id):
        return None
    return key, user


async def check_login_key(session: AsyncSession, key_id: str, user_id: str) -> None:
    """Check that the key a connection logged in with still admits its owner.

    A login is checked once, but OpenSSH multiplexes later commands over the same
    connection (ControlMaster): each one asks again, as a new connection would.

    Raises:
        AuthenticationFailed: the key was deleted or deactivated, or is not `user_id`'s.
    """
    row = (
        await session.execute(
            select(SSHPublicKey.status, SSHPublicKey.user_id)
            .join(User, User.id == SSHPublicKey.user_id)
            .where(SSHPublicKey.id == key_id)
        )
    ).first()
    if row is None:
        raise AuthenticationFailed(f"the SSH key {key_id} no longer exists")
    status, owner = row[0], row[1]
    if owner != user_id:
        raise AuthenticationFailed(f"the SSH key {key_id} belongs to another user now")
    if status != "Active":
        raise AuthenticationFailed(f"the SSH key {key_id} is inactive")


def ssh_key_json(key: SSHPublicKey, user_name: str) -> dict[str, str | int]:
    """IAM's `SSHPublicKey` shape, plus the SHA256 fingerprint OpenSSH shows."""
    return {
        "UserName": user_name,
        "SSHPublicKeyId": key.id,
        "Fingerprint": key.fingerprint_md5,
        "FingerprintSHA256": key.fingerprint_sha256,
        "KeyType": key.algorithm,
        "KeyBits": key.bits,
        "SSHPublicKeyBody": key.body,
        "Status": key.status,
        "UploadDate": _iso(key.created_at),
    }


def _iso(moment: datetime) -> str:
    return moment.isoformat()
