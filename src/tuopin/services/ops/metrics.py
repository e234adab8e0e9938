"""What /metrics shows, in the Prometheus text format: requests, latencies, jobs, logins.

Requests are counted by method, route *template* (``/households/{household_id}``, never the
raw path: a label must not hold a household number) and status; latencies go into a
histogram by method and route. The job queue (waiting, running, the oldest wait) and the
age of the freshest worker heartbeat are read from the store at each scrape. Failed logins
are counted by door (web: a wrong username or password; api: a token that was sent but is
not valid).

Each application has a registry of its own (tests build many). Under `tuopin serve` with
several worker processes, each process counts what it answers: ``PROMETHEUS_MULTIPROC_DIR``
(set by `tuopin serve`) makes prometheus_client keep the counts in files there, and a scrape,
whichever worker answers it, adds up every worker's.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from tuopin.services.jobs import heartbeat, queue

log = logging.getLogger("tuopin.metrics")
MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR"
# the text format every Prometheus reads (what generate_latest writes)
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
# seconds: a page answers in a few ms, an export streams for many seconds
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class JobsCollector(Collector):
    """The job queue and the worker heartbeat, read from the store when scraped."""

    def __init__(self, readers: sessionmaker[Session], clock: Callable[[], float]) -> None:
        self.readers, self.clock = readers, clock

    def collect(self) -> Iterator[Metric]:
        now = self.clock()
        try:
            with self.readers() as db:
                depth = queue.depth(db, now=now)
                seen = heartbeat.freshest(db)
        except SQLAlchemyError as exc:
            # the scrape still answers (requests, logins); readiness says what is wrong
            log.warning("reading the job queue for /metrics failed: %s", type(exc).__name__)
            return
        yield GaugeMetricFamily("tuopin_jobs_queued", "Jobs waiting for a worker.",
                                value=depth["queued"])
        yield GaugeMetricFamily("tuopin_jobs_running", "Jobs a worker is running.",
                                value=depth["running"])
        yield GaugeMetricFamily("tuopin_jobs_oldest_queued_age_seconds",
                                "How long the oldest waiting job has waited (0: none waits).",
                                value=depth["oldest_queued_age"] or 0.0)
        if seen is not None:
            yield GaugeMetricFamily("tuopin_worker_heartbeat_age_seconds",
                                    "Seconds since the freshest worker heartbeat.",
                                    value=max(0.0, now - seen))


class Metrics:
    """The counters of one application (``app.state.metrics``) and their exposition."""

    def __init__(self, readers: sessionmaker[Session] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("tuopin_http_requests", "HTTP requests answered.",
                                ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram("tuopin_http_request_duration_seconds",
                                 "Seconds from a request's arrival to the end of its answer.",
                                 ["method", "route"], buckets=BUCKETS, registry=self.registry)
        self.login_failures = Counter("tuopin_login_failures",
                                      "Failed logins (web: wrong username or password; api: "
                                      "an invalid token).", ["door"], registry=self.registry)
        self.jobs = JobsCollector(readers, clock) if readers is not None else None
        if self.jobs is not None:
            self.registry.register(self.jobs)

    def observe(self, *, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def login_failed(self, door: str) -> None:
        self.login_failures.labels(door).inc()

    def exposition(self) -> bytes:
        """Every metric in the Prometheus text format (all worker processes' together when
        PROMETHEUS_MULTIPROC_DIR is set)."""
        if not os.environ.get(MULTIPROCESS):
            return generate_latest(self.registry)
        merged = CollectorRegistry()
        MultiProcessCollector(merged)
        if self.jobs is not None:
            merged.register(self.jobs)
        return generate_latest(merged)


def login_failed(state: Any, door: str) -> None:
    """Count a failed login on the request's metrics (``request.state.metrics``, put there by
    the web's telemetry; absent when an application is served without it)."""
    metrics = getattr(state, "metrics", None)
    if isinstance(metrics, Metrics):
        metrics.login_failed(door)
