"""A real Prometheus (Debian's 2.42) on loopback for the monitoring tests, and the files it reads.

:func:`run_prometheus` writes its own config (scrape and evaluation every second), starts
``/usr/bin/prometheus`` with a fresh TSDB directory, waits for ``/-/ready`` and stops it by PID
afterwards. :class:`Prometheus` queries the HTTP API. The dashboard and rule files live under
``charts/ballast/`` with identical copies under ``deploy/monitoring/``.
"""

from __future__ import annotations

import contextlib
import json
import re
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.sockets import free_port

ROOT = Path(__file__).resolve().parents[2]
CHART_DASHBOARDS = ROOT / "charts" / "ballast" / "dashboards"
CHART_RULES = ROOT / "charts" / "ballast" / "rules"
DEPLOY_MONITORING = ROOT / "deploy" / "monitoring"
DASHBOARD = CHART_DASHBOARDS / "ballast-images.json"
RULES = CHART_RULES / "ballast-alerts.yaml"
RULES_TEST = CHART_RULES / "ballast-alerts.test.yaml"
PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"

RATE_INTERVAL = "1m"
"""What ``$__rate_interval`` becomes: Grafana's is at least 4 scrape intervals; 1s here."""


@dataclass
class Prometheus:
    """A running Prometheus: its URL and the PID it was started with."""

    url: str
    pid: int
    log: Path

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result vector (raises AssertionError with Prometheus's error)."""
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10)
        body = response.json()
        assert body.get("status") == "success", f"{expr}: {body.get('error', body)}"
        data = body["data"]
        result: list[dict[str, Any]] = (
            data["result"] if data["resultType"] in ("vector", "matrix") else [data["result"]]
        )
        return result

    def get(self, path: str, **params: Any) -> Any:
        response = httpx.get(f"{self.url}{path}", params=params, timeout=10)
        body = response.json()
        assert body.get("status") == "success", f"{path}: {body}"
        return body["data"]

    def wait_for(self, expr: str, *, timeout_s: float = 20.0) -> list[dict[str, Any]]:
        """Poll ``expr`` until it returns something; raise with the log tail if it never does."""
        deadline = time.monotonic() + timeout_s
        while True:
            result = self.query(expr)
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"{expr} returned nothing for {timeout_s}s\n{self.log_tail()}")
            time.sleep(0.25)

    def log_tail(self, lines: int = 20) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def run_prometheus(
    workdir: Path,
    *,
    job: str,
    targets: Sequence[str],
    rule_files: Sequence[Path] = (),
) -> Iterator[Prometheus]:
    """Start Prometheus scraping ``targets`` (``host:port``) as ``job`` every second."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "1s"},
        "rule_files": [str(path) for path in rule_files],
        "scrape_configs": [
            {"job_name": job, "honor_labels": True, "static_configs": [{"targets": list(targets)}]}
        ],
    }
    config_file = workdir / "prometheus.yml"
    config_file.write_text(json.dumps(config))  # YAML is a superset of JSON
    port = free_port()
    log = workdir / "prometheus.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={config_file}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--log.level=warn",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    server = Prometheus(f"http://127.0.0.1:{port}", process.pid, log)
    try:
        _wait_ready(server, process)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def _wait_ready(server: Prometheus, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prometheus exited with {process.returncode}\n{server.log_tail()}")
        try:
            if httpx.get(f"{server.url}/-/ready", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"prometheus was not ready in 15 s\n{server.log_tail()}")


# -- the dashboard ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PanelQuery:
    """One ``targets[].expr`` of a dashboard panel."""

    panel: str
    ref_id: str
    expr: str


def dashboard_queries(path: Path = DASHBOARD) -> list[PanelQuery]:
    """Every target expression of every panel (rows' nested panels included)."""
    document = json.loads(path.read_text())
    queries: list[PanelQuery] = []
    for panel in _panels(document["panels"]):
        for target in panel.get("targets", []):
            if target.get("expr"):
                queries.append(PanelQuery(panel["title"], target["refId"], target["expr"]))
    return queries


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def substitute(expr: str, *, namespace: str = ".*") -> str:
    """Grafana's variables as the panels would send them (``$namespace`` is a regex)."""
    text = expr.replace("$__rate_interval", RATE_INTERVAL)
    text = re.sub(r"\$\{namespace(?::[a-z]+)?\}|\$namespace\b", namespace, text)
    assert "$" not in text, f"unsubstituted variable in {expr}"
    return text


METRIC_RE = re.compile(r"\bballast_[a-z0-9_]+\b")


def metric_names(text: str) -> set[str]:
    """``ballast_`` names used in PromQL or YAML text."""
    return set(METRIC_RE.findall(text))
