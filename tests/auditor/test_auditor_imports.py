"""The auditor's core imports neither Flask nor the webhook, and the Kubernetes client only
for live listing (STYLE.md: imports go down or sideways)."""

from __future__ import annotations

import subprocess
import sys

BLOCK_AND_AUDIT = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {'flask', 'kubernetes', 'webhook', 'prometheus_client'}:
            raise ImportError('the auditor core must not import ' + name)
sys.meta_path.insert(0, Block())
import auditor, auditor.pods, auditor.owners, auditor.source, auditor.scan, auditor.model
import auditor.snapshot_json, auditor.errors
from auditor import FileSource, audit, snapshot_to_dict
print('ok')
"""


def test_offline_auditing_imports_without_flask_webhook_or_kubernetes() -> None:
    result = subprocess.run(
        [sys.executable, "-c", BLOCK_AND_AUDIT], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
