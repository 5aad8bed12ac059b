"""The core imports neither Flask nor the Kubernetes client (STYLE.md, DESIGN.md)."""

from __future__ import annotations

import subprocess
import sys

BLOCK_AND_IMPORT = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {'flask', 'kubernetes', 'prometheus_client', 'webhook', 'auditor'}:
            raise ImportError('core must not import ' + name)
sys.meta_path.insert(0, Block())
import ballast, ballast.cli, ballast.lookup, ballast.services, ballast.cache
import ballast.registry.client, ballast.reference, ballast.settings
from ballast.cli import cli
print('ok')
"""


def test_core_imports_without_flask_kubernetes_or_front_ends() -> None:
    result = subprocess.run(
        [sys.executable, "-c", BLOCK_AND_IMPORT], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
