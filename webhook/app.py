"""The Flask adapter: HTTP in, AdmissionReview out, nothing else.

``create_app(reviewer, metrics)`` builds the app; there is no module-level
app. The view parses the body (``webhook.admission``), asks the reviewer for
a decision within the deadline the API server sent, and serialises it. Two
audiences stay apart: a malformed review request gets a 4xx with a clear
message; a problem judging an image follows the policy's failure mode inside
a valid AdmissionReview. Nothing answers 5xx and no traceback reaches kubectl.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Protocol

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

from webhook.admission import (
    MAX_BODY_BYTES,
    AdmissionRequest,
    AdmissionReviewPayload,
    ReviewError,
    build_response,
    check_body_size,
    parse_review,
)
from webhook.metrics import WebhookMetrics

logger = logging.getLogger(__name__)


class Reviewer(Protocol):
    """Decides admissions; the HTTP-free heart of the webhook (see webhook.review)."""

    def review(
        self, admission: AdmissionRequest, *, timeout_param: str | None, started: float
    ) -> AdmissionReviewPayload: ...

    def readiness(self) -> str | None:
        """None when ready, else why not (policy not loaded, cache unreachable)."""
        ...


def create_app(
    reviewer: Reviewer, metrics: WebhookMetrics, *, max_body_bytes: int = MAX_BODY_BYTES
) -> Flask:
    """The webhook's WSGI app: /validate, /healthz, /readyz, /metrics."""
    app = Flask("ballast-webhook")

    @app.post("/validate")
    def validate() -> Response:
        started = time.monotonic()
        check_body_size(request.content_length, limit=max_body_bytes)
        # Read one byte past the limit ourselves: with MAX_CONTENT_LENGTH werkzeug
        # cuts a chunked body at the limit without an error, and the cut body
        # would be parsed as if it were whole.
        body = request.stream.read(max_body_bytes + 1)
        check_body_size(len(body), limit=max_body_bytes)
        admission = parse_review(
            body, content_type=request.headers.get("Content-Type"), max_body_bytes=max_body_bytes
        )
        try:
            answer = reviewer.review(
                admission, timeout_param=request.args.get("timeout"), started=started
            )
        except Exception:
            # A bug of ours: allow (the API server's failurePolicy would too) and say so.
            logger.exception("internal error reviewing uid=%s", admission.uid)
            answer = build_response(
                admission.uid,
                allowed=True,
                warnings=["ballast: internal error, image not judged (see webhook logs)"],
                audit_annotations={"decision": "error"},
            )
            metrics.admissions.labels(
                kind=admission.kind, operation=admission.operation, decision="error"
            ).inc()
        return _json(answer, 200)

    @app.get("/healthz")
    def healthz() -> Response:
        return _json({"status": "ok"}, 200)

    @app.get("/readyz")
    def readyz() -> Response:
        problem = reviewer.readiness()
        if problem:
            return _json({"status": "not ready", "reason": problem}, 503)
        return _json({"status": "ready"}, 200)

    @app.get("/metrics")
    def metrics_endpoint() -> Response:
        body, content_type = metrics.exposition()
        return Response(body, content_type=content_type)

    @app.errorhandler(ReviewError)
    def bad_review(error: ReviewError) -> Response:
        metrics.bad_requests.labels(status=str(error.status)).inc()
        return _json({"error": error.message}, error.status)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        status = error.code or 400
        message = error.description or error.name
        if status == 413:
            message = f"request body larger than {max_body_bytes:,} bytes"
        metrics.bad_requests.labels(status=str(status)).inc()
        return _json({"error": message}, status)

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:  # pragma: no cover - defensive
        logger.exception("unexpected error outside a review")
        return _json({"error": "bad request: could not be processed"}, 400)

    return app


def _json(document: object, status: int) -> Response:
    return Response(
        json.dumps(document, separators=(",", ":")), status=status, mimetype="application/json"
    )
