"""Delivery metrics for `/metrics` (Prometheus text format), in a registry of their own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class DeliveryMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.deliveries = Counter(
            "gitserver_deliveries_total",
            "Deliveries that reached an end, by outcome and format",
            ["outcome", "format"],
            registry=self.registry,
        )
        self.attempts = Counter(
            "gitserver_delivery_attempts_total",
            "Delivery attempts, by result class",
            ["result"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            "gitserver_delivery_queue_depth",
            "Deliveries not yet succeeded or failed",
            registry=self.registry,
        )
        self.oldest_due_age = Gauge(
            "gitserver_delivery_oldest_due_age_seconds",
            "How long the oldest due delivery has waited",
            registry=self.registry,
        )
        self.latency = Histogram(
            "gitserver_delivery_latency_seconds",
            "From the event's time to its successful delivery",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600),
            registry=self.registry,
        )
