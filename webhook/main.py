"""Assemble and run the webhook: settings → services → app → gunicorn.

``build_app`` runs in each gunicorn worker (after fork), so every worker has
its own registry connections, SQLite connections and thread pool.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from flask import Flask
from prometheus_client import CollectorRegistry

from ballast._errors import CacheError
from ballast.policy import PolicySource
from ballast.redis_store import TieredStore
from ballast.services import open_services
from ballast.settings import Settings
from webhook.app import create_app
from webhook.fetcher import DeadlineFetcher
from webhook.metrics import WebhookMetrics
from webhook.review import AdmissionReviewer
from webhook.server import WebhookServer
from webhook.tls import CertificatePair, write_self_signed

logger = logging.getLogger(__name__)


def build_app(settings: Settings, environ: Mapping[str, str]) -> Flask:
    """The webhook app with its own services; raises BallastError for bad configuration."""
    metrics = WebhookMetrics(CollectorRegistry(auto_describe=True))
    services = open_services(settings, environ, observer=metrics.observe_registry)
    if isinstance(services.cache.store, TieredStore):
        services.cache.store.observer = metrics.observe_shared_cache
        metrics.shared_cache_up.set(1)
    policy = PolicySource(settings.webhook.policy or None)
    fetcher = DeadlineFetcher(services.lookup, max_workers=settings.webhook.fetch_workers)

    def cache_ready() -> str | None:
        try:
            services.cache.store.get("readyz-probe")
        except CacheError as exc:
            return f"facts cache unreachable: {exc}"
        return None

    reviewer = AdmissionReviewer(
        fetcher=fetcher,
        policy=policy,
        metrics=metrics,
        layer_reports=services.layers.cached_report,
        default_timeout_s=settings.webhook.default_timeout_s,
        margin_s=settings.webhook.margin_s,
        cache_ready=cache_ready,
    )
    return create_app(reviewer, metrics, max_body_bytes=settings.webhook.max_body_bytes)


def certificate_for(settings: Settings, *, self_signed: bool, tls_dir: Path) -> CertificatePair:
    """The serving certificate: the configured pair, or a fresh self-signed one."""
    if self_signed:
        pair = write_self_signed(tls_dir)
        logger.warning("self-signed certificate for localhost written to %s", pair.cert)
        return pair
    return CertificatePair(Path(settings.webhook.cert), Path(settings.webhook.key))


def serve(settings: Settings, environ: Mapping[str, str], *, certificate: CertificatePair) -> None:
    """Run gunicorn until SIGTERM/SIGINT; in-flight admissions drain first."""
    # Fail in the foreground on bad policy or settings, before forking workers.
    PolicySource(settings.webhook.policy or None)
    server = WebhookServer(
        lambda: build_app(settings, environ),
        bind=settings.webhook.bind,
        certificate=certificate,
        workers=settings.webhook.workers,
        threads=settings.webhook.threads,
    )
    server.run()
