"""Log lines for services: one JSON object per line, with request-scoped fields.

Services (webhook, auditor) log JSON so log pipelines can index ``uid``,
``namespace``, ``image`` … without parsing prose; the CLI logs plain text for
people. Fields are passed with ``extra=`` at the call site; nothing here reads
request state. Values are cut to a bounded length so a hostile object or a
huge registry error cannot flood the log.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys

CONTEXT_FIELDS = (
    "uid",
    "namespace",
    "kind",
    "workload",
    "operation",
    "decision",
    "image",
    "digest",
    "duration_ms",
    "dry_run",
)
_MAX_VALUE_CHARS = 2000


class JsonFormatter(logging.Formatter):
    """``{"ts": …, "level": …, "logger": …, "msg": …, <context fields>}`` per record."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, object] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": _cut(record.getMessage()),
        }
        for name in CONTEXT_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                document[name] = (
                    value if isinstance(value, int | float | bool) else _cut(str(value))
                )
        if record.exc_info:
            document["exc"] = _cut(self.formatException(record.exc_info), 8000)
        return json.dumps(document, ensure_ascii=False)


def _cut(text: str, limit: int = _MAX_VALUE_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def configure_logging(*, level: int, json_lines: bool) -> None:
    """Send logs to stderr as JSON lines (services) or ``LEVEL logger: message`` (CLI)."""
    handler = logging.StreamHandler(sys.stderr)
    if json_lines:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request at INFO; keep it for -vv only.
    logging.getLogger("httpx").setLevel(max(level, logging.WARNING if level > 10 else level))
