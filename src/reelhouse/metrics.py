"""Every Prometheus metric reelhouse exports, declared once.

A :class:`Metrics` holds its own registry, so a composition root makes one and passes it down;
tests make their own.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.uploads_created = Counter(
            "reelhouse_uploads_created", "Uploads created, by protocol.", ["via"], registry=r
        )
        self.uploads_completed = Counter(
            "reelhouse_uploads_completed", "Uploads whose last byte arrived.", registry=r
        )
        self.uploads_failed = Counter(
            "reelhouse_uploads_failed",
            "Upload requests refused or broken, by reason.",
            ["reason"],
            registry=r,
        )
        self.upload_bytes = Counter(
            "reelhouse_upload_bytes_received", "Upload bytes durably stored.", registry=r
        )
        self.uploads_in_flight = Gauge(
            "reelhouse_uploads_in_flight", "Upload requests streaming a body now.", registry=r
        )
        self.http_requests = Counter(
            "reelhouse_http_requests",
            "HTTP requests by route and status.",
            ["route", "status"],
            registry=r,
        )
        self.http_latency = Histogram(
            "reelhouse_http_request_seconds",
            "HTTP request latency by route.",
            ["route"],
            registry=r,
        )
