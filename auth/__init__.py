"""Identities, credentials and the authorizer."""

from auth.authorizer import Action, Authorizer, Decision, Effect
from auth.principal import SYSTEM, Principal

__all__ = ["SYSTEM", "Action", "Authorizer", "Decision", "Effect", "Principal"]
