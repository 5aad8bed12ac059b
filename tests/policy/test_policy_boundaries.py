"""The policy engine is core: it imports neither Flask, Kubernetes, Prometheus nor a front end."""

from __future__ import annotations

import subprocess
import sys

BLOCK_AND_IMPORT = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {'flask', 'kubernetes', 'prometheus_client', 'webhook', 'auditor',
                                  'httpx'}:
            raise ImportError('the policy engine must not import ' + name)
sys.meta_path.insert(0, Block())
import ballast.policy
from ballast.policy import evaluate, load_policy, load_dive_ci, warnings_for, deny_message
print('ok')
"""


def test_policy_imports_without_flask_kubernetes_prometheus_or_http() -> None:
    result = subprocess.run(
        [sys.executable, "-c", BLOCK_AND_IMPORT], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_the_schema_ships_inside_the_package() -> None:
    from importlib import resources

    assert resources.files("ballast.policy").joinpath("schema.json").is_file()
