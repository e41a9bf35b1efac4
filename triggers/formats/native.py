"""`native`: the contract's own envelope, as stored."""

from __future__ import annotations

from triggers.events import Event
from triggers.formats.context import Payload, PayloadContext


async def native(event: Event, context: PayloadContext) -> Payload | None:
    return Payload(event.envelope(), str(event.type))
