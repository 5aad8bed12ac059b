"""The ``ballast`` command line: inspect (and, as they land, check, audit, webhook, auditor).

Exit codes belong to error classes and are listed once, in EXIT_CODES, which
``--help`` prints. ``--json`` writes one document to stdout and nothing else;
progress, logs and errors go to stderr. Services (Flask, kubernetes) are
imported lazily inside the commands that start them, so the core stays light.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import click

from ballast._errors import (
    AuthError,
    BallastError,
    CacheError,
    ConfigError,
    DigestMismatch,
    InvalidReference,
    LayerError,
    NotFound,
    PolicyError,
    RateLimited,
    RegistryUnavailable,
    TooLarge,
    UnsupportedMedia,
)
from ballast.facts import ImageFacts, ResolvedImage
from ballast.reference import parse_reference
from ballast.services import Services, open_services
from ballast.settings import Settings, load_settings

# Most specific first: the first class an error is an instance of decides its exit code.
EXIT_CODES: tuple[tuple[type[BaseException], int, str], ...] = (
    (InvalidReference, 3, "invalid image reference"),
    (NotFound, 4, "image not found"),
    (AuthError, 5, "unauthorized"),
    (RegistryUnavailable, 6, "registry unreachable"),
    (RateLimited, 6, "registry unreachable"),
    (DigestMismatch, 7, "bad image content (digest mismatch, oversized, unreadable)"),
    (TooLarge, 7, "bad image content (digest mismatch, oversized, unreadable)"),
    (UnsupportedMedia, 7, "bad image content (digest mismatch, oversized, unreadable)"),
    (LayerError, 7, "bad image content (digest mismatch, oversized, unreadable)"),
    (ConfigError, 8, "configuration error"),
    (CacheError, 8, "configuration error"),
    (BallastError, 1, "other error"),
)
_EXIT_HELP = "\b\nExit codes:\n  0  success\n  2  usage error\n" + "\n".join(
    dict.fromkeys(f"  {code}  {what}" for _, code, what in EXIT_CODES)
)
_PROGRESS_AFTER_S = 0.4


def exit_code_for(error: BaseException) -> int:
    for cls, code, _ in EXIT_CODES:
        if isinstance(error, cls):
            return code
    return 1


@dataclass(slots=True)
class Context:
    """Shared by every command: global options, and services opened on first use."""

    config_file: str | None
    cache: str | None
    auth_file: str | None = None
    insecure: tuple[str, ...] = ()
    webhook_overrides: dict[str, Any] | None = None
    auditor_overrides: dict[str, Any] | None = None
    _services: Services | None = None

    def settings(self, *, platforms: Sequence[str] = ()) -> Settings:
        overrides: dict[str, dict[str, Any]] = {
            "registry": {},
            "cache": {},
            "webhook": dict(self.webhook_overrides or {}),
            "auditor": dict(self.auditor_overrides or {}),
        }
        if self.cache:
            shared = self.cache.startswith(("redis://", "rediss://", "unix://"))
            overrides["cache"]["url" if shared else "path"] = self.cache
        if self.auth_file:
            overrides["registry"]["auth_file"] = self.auth_file
        if self.insecure:
            from_env = os.environ.get("BALLAST_INSECURE_REGISTRIES", "").split(",")
            overrides["registry"]["insecure_registries"] = [
                h.strip() for h in (*from_env, *self.insecure) if h.strip()
            ]
        if platforms:
            overrides["registry"]["platforms"] = list(platforms)
        return load_settings(os.environ, config_file=self.config_file, overrides=overrides)

    def services(self, settings: Settings) -> Services:
        if self._services is None:
            self._services = open_services(settings, os.environ)
        return self._services

    def close(self) -> None:
        if self._services is not None:
            self._services.close()


pass_context = click.make_pass_decorator(Context)


def fail(error: BaseException, *, code: int | None = None) -> NoReturn:
    """Print the error (and each problem of a PolicyError) to stderr and exit.

    The exit code is ``code`` when given (``check`` and the services use 2 for
    every error), else the error class's code from EXIT_CODES.
    """
    click.echo(f"error: {error}", err=True)
    for problem in getattr(error, "problems", []):
        click.echo(f"  - {problem}", err=True)
    sys.exit(exit_code_for(error) if code is None else code)


@click.group(context_settings={"auto_envvar_prefix": "BALLAST", "show_default": True})
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False),
    help="YAML settings file (registry, cache sections).",
)
@click.option(
    "--cache",
    help="Facts cache: a SQLite file path or :memory:. Default: $XDG_CACHE_HOME/ballast/facts.db.",
)
@click.option(
    "--auth-file",
    type=click.Path(dir_okay=False),
    help="Registry credentials: a Docker config.json or a kubernetes.io/dockerconfigjson "
    "Secret (YAML or JSON). Default: ~/.docker/config.json.",
)
@click.option(
    "--insecure-registry",
    "insecure",
    multiple=True,
    help="host:port reached over plain HTTP and allowed on private addresses "
    "(repeatable; adds to BALLAST_INSECURE_REGISTRIES).",
)
@click.option("-v", "--verbose", count=True, help="Log more to stderr (-vv for debug).")
@click.option(
    "--log-format",
    type=click.Choice(["auto", "json", "text"]),
    default="auto",
    help="Log lines as JSON (default for webhook and auditor) or text (CLI).",
)
@click.version_option(package_name="ballast")
@click.pass_context
def cli(
    ctx: click.Context,
    config_file: str | None,
    cache: str | None,
    auth_file: str | None,
    insecure: tuple[str, ...],
    verbose: int,
    log_format: str,
) -> None:
    """Keep dead weight out of container images."""
    from ballast.log_format import configure_logging

    level = logging.WARNING - 10 * min(verbose, 2)
    services = {"webhook", "auditor"}
    json_lines = log_format == "json" or (
        log_format == "auto" and ctx.invoked_subcommand in services
    )
    if ctx.invoked_subcommand in services and verbose == 0:
        level = logging.INFO  # services log one line per decision / pass
    configure_logging(level=level, json_lines=json_lines)
    context = Context(config_file=config_file, cache=cache, auth_file=auth_file, insecure=insecure)
    ctx.obj = context
    ctx.call_on_close(context.close)


_ARCHIVE_PREFIXES = ("docker-archive:", "oci-archive:", "oci:")


@cli.command(epilog=_EXIT_HELP)
@click.argument("images", nargs=-1, required=True)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print JSON to stdout and nothing else: "
    "an object for one image on one platform, else a list.",
)
@click.option(
    "--deep",
    is_flag=True,
    help="Read the layers too: files, wasted and hidden bytes, "
    "packages, and findings from layer contents.",
)
@click.option(
    "--platform",
    "platforms",
    multiple=True,
    help="Platform of a multi-arch image, e.g. linux/arm64; repeat, or 'all'. "
    "Default: linux/amd64.",
)
@click.option(
    "--sort",
    type=click.Choice(["order", "size"]),
    default="order",
    help="Layer table order: as built, or biggest first.",
)
@pass_context
def inspect(
    context: Context,
    images: tuple[str, ...],
    as_json: bool,
    deep: bool,
    platforms: tuple[str, ...],
    sort: str,
) -> None:
    """Show what is in IMAGES and how to slim them: digest, platform, compressed size, each
    layer with the instruction that created it, and findings.

    \b
    IMAGE is a registry reference (nginx:1.27, ghcr.io/org/app@sha256:...) or, with
    --deep, a local archive: docker-archive:FILE.tar (docker save, kaniko),
    oci-archive:FILE.tar (a tarred OCI layout) or oci:DIR (an OCI layout).
    """
    from ballast.inspection import human_report, inspect_document, inspection_findings

    try:
        for text in images:
            if text.startswith(_ARCHIVE_PREFIXES):
                if not deep:
                    raise click.UsageError(f"{text}: local archives are read with --deep")
            else:
                parse_reference(text)
        settings = context.settings(platforms=platforms)
        services = context.services(settings)
    except BallastError as exc:
        fail(exc)
    documents: list[dict[str, Any]] = []
    first_error: BaseException | None = None
    for _, views in _image_views(services, images, platforms=platforms, deep=deep):
        if isinstance(views, BallastError):
            click.echo(f"error: {views}", err=True)
            first_error = first_error or views
            continue
        for image, facts, report in views:
            findings = inspection_findings(image.reference, facts, report)
            if as_json:
                documents.append(inspect_document(image, facts, report, findings))
            else:
                click.echo(human_report(image, facts, report, findings, sort=sort))
    # The shape follows the request, not the outcome: one image on one platform
    # gives an object, anything that may give several gives a list.
    single = len(images) == 1 and len(platforms) <= 1 and "all" not in platforms
    if as_json and not (single and not documents):
        payload: Any = documents[0] if single else documents
        click.echo(json.dumps(payload, indent=2))
    if first_error is not None:
        sys.exit(exit_code_for(first_error))


_View = tuple[ResolvedImage, ImageFacts, Any]


def _image_views(
    services: Services, images: Sequence[str], *, platforms: Sequence[str], deep: bool
) -> Iterator[tuple[str, list[_View] | BallastError]]:
    """Each IMAGE argument with its (image, facts, layer report) per platform, or its error.

    Registry references are resolved together first (concurrently, with a progress
    spinner); archives and layers are read as each image comes up.
    """
    remote = [text for text in images if not text.startswith(_ARCHIVE_PREFIXES)]
    with _progress(len(remote)):
        resolved = dict(zip(remote, services.lookup.resolve_many(remote), strict=True))
    for text in images:
        try:
            if text.startswith(_ARCHIVE_PREFIXES):
                yield text, [_archive_view(services, text, platforms)]
                continue
            result = resolved[text]
            if isinstance(result, Exception):
                raise result  # a BallastError is reported below; anything else is a bug
            views: list[_View] = [
                (result, facts, _deep_report(services, result, facts) if deep else None)
                for facts in result.platforms
            ]
        except BallastError as exc:
            yield text, exc
            continue
        yield text, views


def _needs_layers(rule_id: str) -> bool:
    from ballast.policy.rules import rule_spec

    spec = rule_spec(rule_id)
    return spec is not None and spec.needs_layers


def _deep_report(services: Services, image: ResolvedImage, facts: ImageFacts) -> Any:
    ref = parse_reference(image.reference)
    with _layer_progress(facts.layer_count) as on_layer:
        return services.layers.report(ref, facts, on_layer=on_layer)


def _archive_view(
    services: Services, spec: str, platforms: Sequence[str]
) -> tuple[ResolvedImage, ImageFacts, Any]:
    from ballast.inspection import facts_from_archive
    from ballast.layers import combine, open_archive, read_archive_layers

    archive = open_archive(spec, platform=platforms[0] if platforms else None)
    store = services.layers
    with _layer_progress(len(archive.layers)) as on_layer:

        def remember(index: int, layer: Any) -> None:
            store.put_layer(layer)
            on_layer(index, layer)

        layers = read_archive_layers(archive, cached=store.cached_layer, on_layer=remember)
    image, facts = facts_from_archive(archive)
    return image, facts, combine(layers, archive.history)


@contextmanager
def _layer_progress(total: int) -> Iterator[Any]:
    """``reading layers 3/14`` on stderr while layers download (terminal only)."""
    done = [0]
    interactive = sys.stderr.isatty()

    def on_layer(index: int, layer: Any) -> None:
        done[0] += 1
        if interactive:
            sys.stderr.write(f"\rreading layers {done[0]}/{total}")
            sys.stderr.flush()

    try:
        yield on_layer
    finally:
        if interactive and done[0]:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


@contextmanager
def _progress(total: int) -> Iterator[Any]:
    """A spinner on stderr, only on a terminal and only when the work takes a moment."""
    done = threading.Event()
    finished = [0]
    interactive = sys.stderr.isatty()

    def spin() -> None:
        if done.wait(_PROGRESS_AFTER_S):
            return
        frames = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
        i = 0
        while not done.wait(0.1):
            sys.stderr.write(f"\r{frames[i % len(frames)]} resolving {total} image(s)…")
            sys.stderr.flush()
            i += 1
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()

    thread = threading.Thread(target=spin, daemon=True) if interactive else None
    if thread:
        thread.start()
    started = time.monotonic()
    try:
        yield lambda n: finished.__setitem__(0, n)
    finally:
        done.set()
        if thread:
            thread.join()
        logging.getLogger(__name__).info(
            "resolved %d image(s) in %.2fs", total, time.monotonic() - started
        )


_CHECK_EXIT_HELP = (
    "\b\nExit codes:\n  0  every image passes\n  1  policy failure (an image is denied, or "
    "warned with --fail-on warn)\n  2  error: bad flags or policy, invalid reference, registry "
    "failure"
)


@cli.command(epilog=_CHECK_EXIT_HELP)
@click.argument("images", nargs=-1, required=True)
@click.option(
    "--policy",
    type=click.Path(dir_okay=False),
    help="Policy YAML (the webhook's). Default: built-in defaults.",
)
@click.option(
    "--dive-ci",
    "dive_ci",
    type=click.Path(dir_okay=False),
    help="Use dive's .dive-ci rule file instead of a policy (same thresholds).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    help="Output: for people, one JSON document, or a PR comment.",
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option(
    "--fail-on",
    type=click.Choice(["deny", "warn"]),
    default="deny",
    help="Lowest verdict that fails the check.",
)
@click.option(
    "--platform",
    "platforms",
    multiple=True,
    help="Platform(s) of multi-arch images to judge; 'all' for every one.",
)
@click.option(
    "--deep/--no-deep",
    default=None,
    help="Read the layers (needed for efficiency, wasted/hidden bytes, secrets). "
    "Default: when the policy has a rule that needs them.",
)
@click.option("--verbose-findings", is_flag=True, help="Also list passing and skipped rules.")
@pass_context
def check(
    context: Context,
    images: tuple[str, ...],
    policy: str | None,
    dive_ci: str | None,
    output_format: str,
    as_json: bool,
    fail_on: str,
    platforms: tuple[str, ...],
    deep: bool | None,
    verbose_findings: bool,
) -> None:
    """Judge IMAGES against a policy, as the webhook would: a CI gate (like dive --ci).

    \b
    IMAGE is a registry reference or a local archive (docker-archive:FILE.tar,
    oci-archive:FILE.tar, oci:DIR), so `ballast check --dive-ci .dive-ci
    docker-archive:image.tar` replaces `dive --ci`.
    """
    import datetime as dt

    from ballast.policy import (
        Context as PolicyContext,
    )
    from ballast.policy import (
        Verdict,
        decide,
        decision_to_json,
        default_policy,
        evaluate,
        format_markdown,
        format_text,
        load_dive_ci,
        load_policy_file,
    )

    if as_json:
        output_format = "json"
    try:
        if policy and dive_ci:
            raise click.UsageError("give --policy or --dive-ci, not both")
        if dive_ci:
            try:
                text = Path(dive_ci).read_text(encoding="utf-8")
            except OSError as exc:
                raise PolicyError(f"cannot read {dive_ci}: {exc.strerror}") from exc
            chosen = load_dive_ci(text, source=dive_ci)
        elif policy:
            chosen = load_policy_file(policy)
        else:
            chosen = default_policy()
        for text in images:
            if not text.startswith(_ARCHIVE_PREFIXES):
                parse_reference(text)
        settings = context.settings(platforms=platforms)
        services = context.services(settings)
    except click.UsageError:
        raise
    except BallastError as exc:
        fail(exc, code=2)
    if deep is None:
        deep = any(_needs_layers(rule.id) for rule in chosen.rules)
    policy_context = PolicyContext(today=dt.datetime.now(dt.UTC).date())
    verdicts = []
    errors = 0
    for text, views in _image_views(services, images, platforms=platforms, deep=deep):
        if isinstance(views, BallastError):
            click.echo(f"error: {views}", err=True)
            errors += 1
            continue
        per_platform = [
            evaluate(facts, report, image=text, context=policy_context, policy=chosen)
            for _, facts, report in views
        ]
        verdicts.append(max(per_platform, key=lambda v: v.verdict.rank))
    decision = decide(verdicts)
    if output_format == "json":
        click.echo(json.dumps(decision_to_json(decision), indent=2))
    elif output_format == "markdown":
        click.echo(format_markdown(decision, verbose=verbose_findings))
    else:
        click.echo(format_text(decision, verbose=verbose_findings))
    if errors:
        sys.exit(2)
    threshold = Verdict.WARN if fail_on == "warn" else Verdict.DENY
    if decision.verdict.rank >= threshold.rank:
        sys.exit(1)


@cli.command(
    name="webhook",
    epilog="\b\nExit codes:\n  0  stopped cleanly\n  2  bad flags, policy or TLS files",
)
@click.option("--bind", help="HOST:PORT to serve HTTPS on. Default: 127.0.0.1:8443.")
@click.option(
    "--cert",
    type=click.Path(dir_okay=False),
    help="PEM certificate (chain); reloaded when it changes.",
)
@click.option("--key", type=click.Path(dir_okay=False), help="PEM private key of --cert.")
@click.option(
    "--self-signed",
    is_flag=True,
    help="Make a self-signed certificate for localhost instead of --cert/--key (local use).",
)
@click.option(
    "--tls-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Where --self-signed writes tls.crt/tls.key. Default: <cache dir>/tls.",
)
@click.option(
    "--policy",
    type=click.Path(dir_okay=False),
    help="Policy YAML; reloaded when it "
    "changes. Default: built-in (warn > 400 MB, build tools, caches; deny secrets).",
)
@click.option("--workers", type=int, help="gunicorn worker processes. Default: 2.")
@click.option("--threads", type=int, help="Threads per worker. Default: 8.")
@pass_context
def webhook_command(
    context: Context,
    bind: str | None,
    cert: str | None,
    key: str | None,
    self_signed: bool,
    tls_dir: str | None,
    policy: str | None,
    workers: int | None,
    threads: int | None,
) -> None:
    """Serve the validating admission webhook (POST /validate, /healthz, /readyz, /metrics)
    over TLS under gunicorn."""
    given = {
        "bind": bind,
        "cert": cert,
        "key": key,
        "policy": policy,
        "workers": workers,
        "threads": threads,
    }
    context.webhook_overrides = {k: v for k, v in given.items() if v is not None}
    try:
        settings = context.settings()
        if not self_signed and not (settings.webhook.cert and settings.webhook.key):
            raise click.UsageError("give --cert and --key (or --self-signed for local use)")
        if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
            # Before prometheus_client is imported: every worker writes its samples
            # here and /metrics sums them, whichever worker answers the scrape.
            import tempfile

            os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="ballast-metrics-")
        from webhook.main import certificate_for, serve

        directory = (
            Path(tls_dir)
            if tls_dir
            else Path(settings.cache.resolved_path(os.environ)).parent / "tls"
        )
        certificate = certificate_for(settings, self_signed=self_signed, tls_dir=directory)
        from webhook.tls import load_server_context

        load_server_context(certificate)  # a bad pair fails here, not in every worker
        click.echo(
            f"ballast webhook: https://{settings.webhook.bind}/validate "
            f"(certificate {certificate.cert})",
            err=True,
        )
        serve(settings, os.environ, certificate=certificate)
    except (ConfigError, PolicyError) as exc:
        fail(exc, code=2)


def _audit_options(command: Any) -> Any:
    """Options shared by ``audit`` and ``auditor``: where pods come from, and the policy."""
    options = [
        click.option(
            "--pods",
            "pods_file",
            help="Read pods from a `kubectl get pods -A -o json` "
            "file ('-' for stdin) instead of the cluster.",
        ),
        click.option(
            "--kubeconfig",
            help="kubeconfig file. Default: in-cluster config, else $KUBECONFIG or ~/.kube/config.",
        ),
        click.option("--context", "kube_context", help="kubeconfig context. Default: current."),
        click.option(
            "-n",
            "--namespace",
            "namespaces",
            multiple=True,
            help="Namespace to scan (repeatable). Default: all.",
        ),
        click.option(
            "--policy",
            type=click.Path(dir_okay=False),
            help="Policy YAML (the webhook's). Default: built-in.",
        ),
        click.option(
            "--output",
            "output_dir",
            type=click.Path(file_okay=False),
            help="Write every report format to this directory, with timestamped names.",
        ),
        click.option(
            "--layer-budget",
            help="Compressed layer bytes to read per pass to learn "
            "layer facts (e.g. 2GB, 0 to read none). Default: 2GB.",
        ),
        click.option(
            "--configmap",
            help="Also publish the JSON and Markdown reports in this "
            "ConfigMap (namespace: --configmap-namespace).",
        ),
        click.option("--configmap-namespace", help="Namespace of --configmap. Default: ballast."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _auditor_overrides(
    pods_file: str | None,
    kubeconfig: str | None,
    kube_context: str | None,
    namespaces: tuple[str, ...],
    policy: str | None,
    output_dir: str | None,
    layer_budget: str | None,
    **extra: Any,
) -> dict[str, Any]:
    from ballast.policy import parse_size

    given: dict[str, Any] = {
        "pods_file": pods_file,
        "kubeconfig": kubeconfig,
        "context": kube_context,
        "policy": policy,
        "output_dir": output_dir,
        **extra,
    }
    if namespaces:
        given["namespaces"] = list(namespaces)
    if layer_budget is not None:
        try:
            given["layer_budget_bytes"] = parse_size(layer_budget)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--layer-budget") from exc
    return {k: v for k, v in given.items() if v is not None}


def _pod_source_factory(settings: Settings) -> Any:
    from auditor import FileSource, KubernetesSource

    conf = settings.auditor
    if conf.pods_file:
        pods = FileSource(conf.pods_file, namespaces=conf.namespaces)  # re-read when it changes
        return lambda: pods
    source = KubernetesSource.connect(
        environ=os.environ,
        kubeconfig=conf.kubeconfig or None,
        context=conf.context or None,
        namespaces=conf.namespaces,
        page_size=conf.page_size,
    )
    return lambda: source


@cli.command(epilog=_EXIT_HELP)
@_audit_options
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["json", "markdown", "csv", "html"]),
    default=None,
    help="Print one report to stdout. Default: markdown, unless --output is given.",
)
@pass_context
def audit(context: Context, /, output_format: str | None, **options: Any) -> None:
    """One audit pass over what runs in the cluster (or in --pods FILE): sizes, findings,
    exceptions, as a report."""
    from ballast.policy import PolicySource

    context.auditor_overrides = _auditor_overrides(**options)
    try:
        settings = context.settings()
        services = context.services(settings)
        policy = PolicySource(settings.auditor.policy or None)
        make_source = _pod_source_factory(settings)
        from auditor.runner import AuditorRunner
        from auditor.schedule import Schedule

        runner = AuditorRunner(
            make_source=make_source,
            services=services,
            policy=policy,
            observer=_NullObserver(),
            schedule=Schedule.parse(settings.auditor.schedule),
            write_reports=_report_writer(settings),
            max_workers=settings.auditor.max_workers,
            layer_budget_bytes=settings.auditor.layer_budget_bytes,
        )
        snapshot = runner.run_pass(deepen_in_background=False)
        if snapshot is not None and settings.auditor.layer_budget_bytes > 0:
            # Layers learnt during the pass are judged now: a second pass makes no requests.
            snapshot = runner.run_pass(deepen_in_background=False) or snapshot
    except BallastError as exc:
        fail(exc)
    if snapshot is None:
        click.echo(f"error: {runner.state.last_error}", err=True)
        sys.exit(6)
    if output_format or not settings.auditor.output_dir:
        from auditor.reports import render

        chosen: Any = output_format or "markdown"  # a click.Choice of render's formats
        click.echo(render(snapshot, chosen), nl=False)


class _NullObserver:
    def record_pass(self, snapshot: Any) -> None:
        return None

    def record_failure(self, error_type: str) -> None:
        return None


def _report_writer(settings: Settings) -> Any:
    """Writes reports after each pass: to the output directory, and/or to a ConfigMap."""
    conf = settings.auditor
    if not conf.output_dir and not conf.configmap:
        return None
    import tempfile

    from auditor.reports import write_reports

    allowed = ("json", "markdown", "csv", "html")
    unknown = [f for f in conf.formats if f not in allowed]
    if unknown:
        raise ConfigError(f"auditor.formats: unknown {unknown}; use {', '.join(allowed)}")
    formats: Any = tuple(conf.formats) if conf.output_dir else ("json", "markdown")
    publish = _configmap_publisher(settings) if conf.configmap else None

    def write(snapshot: Any) -> list[Path]:
        if conf.output_dir:
            written: list[Path] = write_reports(snapshot, Path(conf.output_dir), formats=formats)
            if publish is not None:
                publish(written)
            return written
        with tempfile.TemporaryDirectory(prefix="ballast-report-") as scratch:
            written = write_reports(snapshot, Path(scratch), formats=formats, previous=None)
            if publish is not None:
                publish(written)
        return []

    return write


def _configmap_publisher(settings: Settings) -> Any:
    from auditor.kube import connect
    from auditor.reports import configmap_manifest

    conf = settings.auditor
    api = connect(
        environ=os.environ, kubeconfig=conf.kubeconfig or None, context=conf.context or None
    )

    def publish(files: list[Path]) -> None:
        manifest = configmap_manifest(files, conf.configmap, conf.configmap_namespace)
        outcome = api.apply_configmap(manifest)
        logging.getLogger(__name__).info(
            "reports %s in ConfigMap %s/%s", outcome, conf.configmap_namespace, conf.configmap
        )

    return publish


@cli.command(
    name="auditor",
    epilog="\b\nExit codes:\n  0  stopped cleanly\n  2  bad flags, policy or settings",
)
@_audit_options
@click.option(
    "--schedule", help="Interval (300s, 5m) or cron expression (UTC) between passes. Default: 300s."
)
@click.option(
    "--metrics-bind", help="HOST:PORT for /metrics, /healthz, /readyz. Default: 127.0.0.1:9464."
)
@pass_context
def auditor_command(
    context: Context, /, schedule: str | None, metrics_bind: str | None, **options: Any
) -> None:
    """Audit continuously: a pass on schedule, Prometheus metrics, and reports."""
    import signal

    from prometheus_client import CollectorRegistry

    from auditor.endpoint import make_app, serve_in_background
    from auditor.metrics import AuditMetrics
    from auditor.runner import AuditorRunner
    from auditor.schedule import Schedule
    from ballast.policy import PolicySource

    context.auditor_overrides = _auditor_overrides(
        **options, schedule=schedule, metrics_bind=metrics_bind
    )
    try:
        settings = context.settings()
        plan = Schedule.parse(settings.auditor.schedule)
        services = context.services(settings)
        policy = PolicySource(settings.auditor.policy or None)
        make_source = _pod_source_factory(settings)
    except BallastError as exc:
        fail(exc, code=2)
    registry = CollectorRegistry()
    metrics = AuditMetrics(registry, interval_s=plan.longest_gap_s())
    runner = AuditorRunner(
        make_source=make_source,
        services=services,
        policy=policy,
        observer=metrics,
        schedule=plan,
        write_reports=_report_writer(settings),
        max_workers=settings.auditor.max_workers,
        layer_budget_bytes=settings.auditor.layer_budget_bytes,
    )
    interval_s = plan.longest_gap_s()
    try:
        server = serve_in_background(
            settings.auditor.metrics_bind,
            make_app(registry, runner.state, stale_after_s=max(3 * interval_s, 600.0)),
        )
    except OSError as exc:
        click.echo(
            f"error: cannot listen on {settings.auditor.metrics_bind}: {exc.strerror}", err=True
        )
        sys.exit(2)
    signal.signal(signal.SIGTERM, lambda *_: runner.stop())
    click.echo(
        f"ballast auditor: metrics on http://{settings.auditor.metrics_bind}/metrics, "
        f"schedule {settings.auditor.schedule}",
        err=True,
    )
    try:
        runner.run_forever()
    except KeyboardInterrupt:
        runner.stop()
    finally:
        server.shutdown()


EXIT_INTERNAL = 70


def main() -> None:
    """Console entry point: no error reaches the user as a traceback.

    A BallastError is the user's to fix and gets its class's exit code; anything
    else is our bug: say so, point at -vv for the traceback, exit 70 (EX_SOFTWARE).
    """
    try:
        cli.main(standalone_mode=True)
    except BallastError as exc:
        fail(exc)
    except Exception as exc:
        logging.getLogger(__name__).debug("internal error", exc_info=True)
        click.echo(
            f"internal error: {exc.__class__.__name__}: {exc}. This is a bug in ballast; "
            "rerun with -vv for the traceback and report it.",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)
