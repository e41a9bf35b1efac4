"""Who is asking: the authenticated identity every authorization decision is about."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from auth.policy import CompiledPolicy


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated user, with what policy evaluation needs to know about them."""

    user_id: str
    name: str
    arn: str
    is_admin: bool = False
    groups: tuple[str, ...] = ()
    tags: Mapping[str, str] = field(default_factory=dict)
    # How the caller proved who they are: password, git-credential, sigv4, ssh-key.
    authenticated_by: str = ""
    # Every identity policy in force, compiled (inline, attached, the groups'; admins'
    # GitServerFullAccess). Loaded with the principal, so a decision needs no I/O.
    policies: tuple[CompiledPolicy, ...] = ()


SYSTEM = Principal(user_id="", name="system", arn="system")
