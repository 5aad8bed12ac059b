"""The reports import neither Flask, the webhook, prometheus_client nor the Kubernetes client
(STYLE.md: imports go down or sideways), so `ballast audit --format html` works offline."""

from __future__ import annotations

import subprocess
import sys

BLOCK_AND_RENDER = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {'flask', 'kubernetes', 'webhook', 'prometheus_client'}:
            raise ImportError('the reports must not import ' + name)
sys.meta_path.insert(0, Block())
import auditor.reports
from auditor.reports import render, write_reports, diff_reports, configmap_manifest
from auditor.reports import report_schema
assert report_schema()['properties']['kind']['const'] == 'BallastAudit'
print('ok')
"""


def test_reports_import_without_flask_webhook_prometheus_or_kubernetes() -> None:
    result = subprocess.run(
        [sys.executable, "-c", BLOCK_AND_RENDER], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
