"""Services log one JSON object per line with the request's fields; secrets never appear."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from click.testing import CliRunner

from ballast.cli import cli
from ballast.log_format import JsonFormatter
from tests.support.images import push_image
from tests.support.registry import LocalRegistry


def test_json_lines_carry_request_fields_and_cut_huge_values() -> None:
    record = logging.LogRecord(
        "webhook.review", logging.INFO, __file__, 1, "Pod %s: %s", ("web", "deny"), None
    )
    record.__dict__.update(uid="u-1", namespace="shop", duration_ms=3.5, image="x" * 10_000)
    document = json.loads(JsonFormatter().format(record))
    assert document["msg"] == "Pod web: deny"
    assert (document["uid"], document["namespace"], document["duration_ms"]) == ("u-1", "shop", 3.5)
    assert document["level"] == "info" and len(document["image"]) <= 2000


def test_debug_logs_of_an_authenticated_lookup_never_contain_the_password(
    basic_registry: LocalRegistry, unique_repo: str, tmp_path: Path
) -> None:
    pushed = push_image(basic_registry, unique_repo, "1", layer_sizes=[100])
    user, password = basic_registry.creds or ("", "")
    auth = tmp_path / "config.json"
    auth.write_text(
        json.dumps({"auths": {basic_registry.host: {"username": user, "password": password}}})
    )
    env = {
        "BALLAST_INSECURE_REGISTRIES": basic_registry.host,
        "BALLAST_CACHE_PATH": str(tmp_path / "c.db"),
        "BALLAST_REGISTRY_AUTH_FILE": str(auth),
    }
    result = CliRunner().invoke(
        cli, ["-vv", "--log-format", "json", "inspect", pushed.tag_ref], env=env
    )
    assert result.exit_code == 0, result.stderr
    assert password not in result.stderr and password not in result.stdout
    assert any(json.loads(line)["logger"] for line in result.stderr.splitlines() if line)


def test_context_fields_never_collide_with_log_record_attributes() -> None:
    """``extra=`` keys that a LogRecord already has raise KeyError at every log call."""
    from ballast.log_format import CONTEXT_FIELDS

    reserved = set(logging.LogRecord("x", logging.INFO, "f", 1, "m", (), None).__dict__)
    assert not reserved & set(CONTEXT_FIELDS)
