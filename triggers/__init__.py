"""Events and everything that reacts to them (delivery, webhooks, pipelines)."""

from triggers.events import Event, EventType, record_event

__all__ = ["Event", "EventType", "record_event"]
