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
        self.processing_seconds = Histogram(
            "reelhouse_processing_seconds_per_video_minute",
            "Encode wall seconds per minute of video, per asset.",
            buckets=(5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600),
            registry=r,
        )
        self.ffmpeg_failures = Counter(
            "reelhouse_ffmpeg_failures",
            "Inputs FFmpeg refused or failed on, by reason.",
            ["reason"],
            registry=r,
        )
        # Read from the database at scrape time, so every node reports the same numbers.
        self.assets = Gauge("reelhouse_assets", "Assets by status.", ["status"], registry=r)
        self.jobs = Gauge(
            "reelhouse_jobs",
            "Jobs in the queue by task and status.",
            ["task", "status"],
            registry=r,
        )
        self.job_oldest_waiting = Gauge(
            "reelhouse_job_oldest_waiting_seconds",
            "Age of the oldest job waiting to run.",
            registry=r,
        )
        self.webhook_deliveries = Gauge(
            "reelhouse_webhook_deliveries",
            "Webhook deliveries by outcome.",
            ["outcome"],
            registry=r,
        )
        self.http_latency = Histogram(
            "reelhouse_http_request_seconds",
            "HTTP request latency by route.",
            ["route"],
            registry=r,
        )
