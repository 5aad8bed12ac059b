"""Benchmark: ``ballast webhook`` under load next to a bare Flask endpoint, and a cold pod.

Run from the repository root::

    .venv/bin/python tests/bench/bench_webhook.py [--duration 10s] [--rounds 2]

Two measurements, printed side by side with their targets (printed, not asserted):

1. **Warm throughput.** ``ballast webhook`` (the real command: gunicorn, gthread workers,
   TLS, keep-alive, Prometheus multiprocess metrics) judges a Deployment whose three images
   are already in its cache, under ``wrk -t2 -c16 -d10s --latency`` posting the same
   AdmissionReview over and over. In the same run, and under the same gunicorn settings
   (workers, threads, keep-alive, timeouts, the same TLS context), a bare Flask app defined
   in this file reads the body and returns a fixed "allowed" AdmissionReview. Rounds
   alternate bare, ballast, bare, ballast … on the same machine. Targets: ballast ≥ 80 % of
   the bare endpoint's requests/s, and ballast's p99 < 20 ms.
2. **Cold pod.** A Pod with 5 images nobody has seen (fresh names every run) is admitted
   once over a kept-alive connection; its latency is compared with the slowest of 5 other
   fresh images of the same shape, each resolved alone with the lookup API on a fresh
   SQLite cache (services built as the CLI builds them, the registry connection already
   open). Target: the pod's admission ≤ 1.5 × the slowest single resolve.

The registry (Debian's ``docker-registry`` behind the counting proxy of ``tests.support``)
runs in a child process so that its Python proxy never competes for this process's GIL,
where the single-image resolves run. ``--profile`` records the ballast workers with py-spy
during one load round and prints where their time goes. Needs ``wrk`` (tests/run installs
it); the script adds the repository root to ``sys.path`` itself.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import signal
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.bench.child_registry import ChildRegistry as SharedChildRegistry  # noqa: E402
from tests.support.registry import LocalRegistry  # noqa: E402

THROUGHPUT_TARGET = 0.80
"""ballast must reach at least this share of the bare endpoint's requests/s."""
P99_TARGET_MS = 20.0
"""ballast's 99th percentile latency under load must stay below this."""
COLD_TARGET = 1.5
"""A cold pod's admission must take at most this many times the slowest single resolve."""
BALLAST_BIN = Path(sys.executable).with_name("ballast")
TAG = "v1"
POST_LUA = """\
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.method = "POST"; wrk.path = "/validate"; wrk.body = f:read("*a"); f:close()
wrk.headers["Content-Type"] = "application/json"
"""
POLICY = """\
apiVersion: ballast.dev/v1
kind: Policy
metadata: {name: bench}
spec:
  mode: enforce
  rules:
    maxCompressedSize: {limit: 400MB}
    maxLayerSize: {limit: 200MB, action: warn}
    maxLayerCount: {limit: 40, action: warn}
    findings: {build-tools: warn, package-cache: warn, secrets: enforce}
"""
WARM_IMAGES = 3
IMAGE_HISTORY = [
    {"created_by": "ADD rootfs.tar.gz / # buildkit"},
    {"created_by": "COPY app /app # buildkit"},
]


# -- the registry, in a child process ---------------------------------------------------------


def _push_repos(reg: LocalRegistry, repos: Sequence[str]) -> list[str]:
    """In the registry's process: one small two-layer image per repository; their digests."""
    from tests.support.registry import push_image

    return [
        push_image(reg, repo, TAG, layer_sizes=[3072, 6144], history=IMAGE_HISTORY).digest
        for repo in repos
    ]


def _set_delay(reg: LocalRegistry, seconds: float) -> None:
    reg.delay_s = seconds


class ChildRegistry(SharedChildRegistry):
    """The shared child-process registry, with what this benchmark asks of it."""

    def push(self, repos: Sequence[str]) -> list[str]:
        """Push one small two-layer image per repository (tag ``v1``); their digests."""
        digests: list[str] = self.call(_push_repos, list(repos))
        return digests

    def set_delay(self, seconds: float) -> None:
        """Make the proxy wait this long before each request: a registry farther away."""
        self.call(_set_delay, float(seconds))

    def ref(self, repo: str) -> str:
        return f"{self.host}/{repo}:{TAG}"


# -- the bare endpoint --------------------------------------------------------------------------

BARE_ANSWER = json.dumps(
    {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "response": {"uid": "bench", "allowed": True},
    },
    separators=(",", ":"),
).encode()


def gunicorn_options(
    *, bind: str, cert: Path, key: Path, workers: int, threads: int
) -> dict[str, Any]:
    """The settings ``webhook/server.py`` gives gunicorn, for the bare endpoint."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)  # as webhook.tls.load_server_context
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile=str(cert), keyfile=str(key))
    return {
        "bind": [bind],
        "workers": workers,
        "worker_class": "gthread",
        "threads": threads,
        "certfile": str(cert),
        "keyfile": str(key),
        "ssl_context": lambda conf, default_factory: context,
        "graceful_timeout": 30,
        "timeout": 60,
        "keepalive": 75,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "bare-webhook",
        "preload_app": False,
    }


def serve_bare(*, bind: str, cert: Path, key: Path, workers: int, threads: int) -> None:
    """Serve the bare Flask endpoint under gunicorn until SIGTERM (``--serve-bare``)."""
    from flask import Flask, Response, request
    from gunicorn.app.base import BaseApplication

    def create_app() -> Flask:
        app = Flask("bare-webhook")

        @app.post("/validate")
        def validate() -> Response:
            request.get_data(cache=False)
            return Response(BARE_ANSWER, status=200, mimetype="application/json")

        @app.get("/healthz")
        def healthz() -> Response:
            return Response(b'{"status":"ok"}', mimetype="application/json")

        return app

    options = gunicorn_options(bind=bind, cert=cert, key=key, workers=workers, threads=threads)

    class BareServer(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for name, value in options.items():
                self.cfg.set(name, value)

        def load(self) -> Flask:
            return create_app()

    BareServer().run()


# -- servers as subprocesses ----------------------------------------------------------------


@dataclass
class Server:
    """One gunicorn master (and its workers) started by this script."""

    name: str
    port: int
    cert: Path
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def client(self) -> Any:
        import httpx

        return httpx.Client(
            base_url=self.url, verify=ssl.create_default_context(cafile=str(self.cert)), timeout=30
        )

    def wait_ready(self, timeout_s: float = 30.0) -> None:
        import httpx

        deadline = time.monotonic() + timeout_s
        with self.client() as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited at start:\n{self.log_tail()}")
                with suppress(httpx.TransportError):
                    if client.get("/healthz").status_code == 200:
                        return
                time.sleep(0.05)
        raise RuntimeError(f"{self.name} not ready after {timeout_s}s:\n{self.log_tail()}")

    def worker_pids(self) -> list[int]:
        children: list[int] = []
        for task in Path(f"/proc/{self.process.pid}/task").glob("*"):
            with suppress(OSError):
                children += [int(p) for p in (task / "children").read_text().split()]
        return children

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                for pid in [*self.worker_pids(), self.process.pid]:
                    with suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                self.process.wait()

    def log_tail(self, lines: int = 30) -> str:
        with suppress(FileNotFoundError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""


def free_port() -> int:
    from tests.support.sockets import free_port as pick

    return pick()


def spawn(
    name: str, args: list[str], env: dict[str, str], *, port: int, cert: Path, log: Path
) -> Server:
    with log.open("ab") as handle:
        process = subprocess.Popen(
            args, env=env, stdin=subprocess.DEVNULL, stdout=handle, stderr=subprocess.STDOUT
        )
    return Server(name=name, port=port, cert=cert, process=process, log=log)


def start_ballast(
    tmp: Path, *, registry_host: str, cert: Path, key: Path, workers: int, threads: int
) -> Server:
    policy = tmp / "policy.yaml"
    policy.write_text(POLICY)
    metrics = tmp / "ballast-metrics"
    metrics.mkdir()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BALLAST_")}
    env |= {
        "HOME": str(tmp),
        "BALLAST_INSECURE_REGISTRIES": registry_host,
        "PROMETHEUS_MULTIPROC_DIR": str(metrics),
    }
    args = [
        str(BALLAST_BIN),
        "--cache",
        str(tmp / "webhook-facts.db"),
        "webhook",
        "--bind",
        f"127.0.0.1:{port}",
        "--cert",
        str(cert),
        "--key",
        str(key),
        "--policy",
        str(policy),
        "--workers",
        str(workers),
        "--threads",
        str(threads),
    ]
    return spawn("ballast", args, env, port=port, cert=cert, log=tmp / "ballast.log")


def start_bare(tmp: Path, *, cert: Path, key: Path, workers: int, threads: int) -> Server:
    port = free_port()
    args = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--serve-bare",
        f"127.0.0.1:{port}",
        "--cert",
        str(cert),
        "--key",
        str(key),
        "--workers",
        str(workers),
        "--threads",
        str(threads),
    ]
    return spawn("bare", args, dict(os.environ), port=port, cert=cert, log=tmp / "bare.log")


# -- AdmissionReviews ---------------------------------------------------------------------------


def pod_review(images: Sequence[str], *, uid: str | None = None) -> dict[str, Any]:
    """A Deployment CREATE with one container per image, as the API server sends it."""
    containers = [
        {"name": f"c{i}", "image": image, "ports": [{"containerPort": 8080 + i}]}
        for i, image in enumerate(images)
    ]
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": containers, "serviceAccountName": "web"},
            },
        },
    }
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": uid or str(uuid.uuid4()),
            "kind": {"group": "apps", "version": "v1", "kind": "Deployment"},
            "resource": {"group": "apps", "version": "v1", "resource": "deployments"},
            "requestKind": {"group": "apps", "version": "v1", "kind": "Deployment"},
            "name": "web",
            "namespace": "shop",
            "operation": "CREATE",
            "userInfo": {"username": "system:serviceaccount:ci:deployer", "groups": []},
            "object": deployment,
            "oldObject": None,
            "dryRun": False,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"},
        },
    }


def judged(answer: Any, count: int) -> dict[str, Any]:
    """The response, checked: 200, allowed, every image judged from facts (no failure mode)."""
    if answer.status_code != 200:
        raise RuntimeError(f"/validate answered {answer.status_code}: {answer.text[:300]}")
    response: dict[str, Any] = answer.json()["response"]
    annotations = response.get("auditAnnotations", {})
    images = annotations.get("images", "")
    if not response["allowed"] or "failure-mode" in annotations or images.count("@") != count:
        raise RuntimeError(f"unexpected verdict: {json.dumps(response)[:500]}")
    return response


# -- wrk ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadResult:
    server: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    bad: int
    """Non-2xx answers plus socket errors: must be 0."""
    cpu_ms_per_request: float
    """CPU time (user + system) of the server's worker processes per request answered:
    what a request costs, whatever else the machine is doing."""
    load_average: float
    """The 1-minute load average when the round started (this machine is shared)."""


_UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"wrk latency {text!r}")
    return float(match[1]) * _UNITS_MS[match[2]]


def parse_wrk(server: str, output: str, *, cpu_s: float, load_average: float) -> LoadResult:
    def grab(pattern: str) -> str:
        match = re.search(pattern, output, re.MULTILINE)
        if match is None:
            raise RuntimeError(f"wrk output without {pattern!r}:\n{output}")
        return match[1]

    bad = 0
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        bad += int(non_2xx[1])
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if errors:
        bad += sum(int(n) for n in errors.groups())
    requests = int(grab(r"^\s+(\d+) requests in"))
    return LoadResult(
        server=server,
        requests_per_s=float(grab(r"^Requests/sec:\s+([\d.]+)")),
        p50_ms=_ms(grab(r"^\s+50%\s+(\S+)")),
        p99_ms=_ms(grab(r"^\s+99%\s+(\S+)")),
        requests=requests,
        bad=bad,
        cpu_ms_per_request=1e3 * cpu_s / max(requests, 1),
        load_average=load_average,
    )


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU time of these processes so far, from /proc."""
    ticks = 0
    for pid in pids:
        with suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def run_wrk(server: Server, body_file: Path, script: Path, args: argparse.Namespace) -> LoadResult:
    command = [
        "wrk",
        f"-t{args.wrk_threads}",
        f"-c{args.connections}",
        f"-d{args.duration}",
        "--latency",
        "-s",
        str(script),
        server.url,
    ]
    env = dict(os.environ, BODY_FILE=str(body_file))
    load_average = os.getloadavg()[0]
    workers = server.worker_pids()
    cpu_before = cpu_seconds(workers)
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    cpu_s = cpu_seconds(workers) - cpu_before
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr}")
    return parse_wrk(server.name, done.stdout, cpu_s=cpu_s, load_average=load_average)


# -- profiling ----------------------------------------------------------------------------------


@contextmanager
def profiled(server: Server, out: Path, duration_s: float) -> Iterator[list[Path]]:
    """py-spy records each worker (raw collapsed stacks) while the block runs."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        print("  (--profile: py-spy is not installed; pip install py-spy)")
        yield []
        return
    records: list[tuple[subprocess.Popen[bytes], Path]] = []
    for pid in server.worker_pids():
        path = out / f"{server.name}-{pid}.txt"
        command = [spy, "record", "--pid", str(pid), "--duration", str(int(duration_s))]
        command += ["--rate", "250", "--format", "raw", "--nonblocking", "-o", str(path)]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        records.append((process, path))
    paths = [path for _, path in records]
    try:
        yield paths
    finally:
        for process, _ in records:
            try:
                process.wait(timeout=duration_s + 30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


_IDLE = ("select (selectors.py", "wait (threading.py", "_worker (concurrent/futures/thread.py")
_OURS = ("webhook/", "ballast/")


def summarize_profile(paths: Sequence[Path], *, top: int = 24) -> None:
    """Where the workers' busy samples go: the view vs the rest, then our functions."""
    inclusive: collections.Counter[str] = collections.Counter()
    leaves: collections.Counter[str] = collections.Counter()
    busy = in_view = 0
    for path in paths:
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not stack or not count_text.isdigit():
                continue
            # "func (file.py:LINE)" → "func (file.py)": one entry per function.
            frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
            if any(frames[-1].startswith(idle) for idle in _IDLE):
                continue  # a thread waiting for work, not doing any
            count = int(count_text)
            busy += count
            leaves[frames[-1]] += count
            if any(frame.startswith("create_app.<locals>.validate ") for frame in frames):
                in_view += count
            for frame in set(frames):
                inclusive[frame] += count
    if not busy:
        print("  (no busy samples recorded)")
        return
    print(
        f"  {busy} busy samples (idle threads left out); {100 * in_view / busy:.0f} % inside "
        "the /validate view, the rest is gunicorn, TLS, Flask and waiting for the GIL"
    )
    print("  inclusive, ballast's own functions:")
    ours = [(f, n) for f, n in inclusive.most_common() if any(o in f for o in _OURS)]
    for frame, count in ours[:top]:
        print(f"    {100 * count / busy:5.1f} %  {frame}")
    print("  self (leaf frames):")
    for frame, count in leaves.most_common(10):
        print(f"    {100 * count / busy:5.1f} %  {frame}")


# -- the cold pod -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ColdTrial:
    pod_s: float
    singles_s: tuple[float, ...]
    requests: int

    @property
    def slowest_s(self) -> float:
        return max(self.singles_s)

    @property
    def ratio(self) -> float:
        return self.pod_s / self.slowest_s


def resolve_alone(ref: str, *, warm_ref: str, registry_host: str, cache: Path, home: Path) -> float:
    """Seconds to resolve ``ref`` with fresh services and an empty cache (connection warm)."""
    from ballast.services import open_services
    from ballast.settings import load_settings

    environ = {
        "BALLAST_INSECURE_REGISTRIES": registry_host,
        "BALLAST_CACHE_PATH": str(cache),
        "HOME": str(home),
    }
    services = open_services(load_settings(environ), environ)
    try:
        services.lookup.resolve(warm_ref)  # opens the connection, as a running webhook has
        started = time.perf_counter()
        services.lookup.resolve(ref)
        return time.perf_counter() - started
    finally:
        services.close()


def cold_trial(
    number: int,
    run_id: str,
    reg: ChildRegistry,
    server: Server,
    tmp: Path,
    *,
    images: int,
    warm_ref: str,
) -> ColdTrial:
    pod_repos = [f"bench-webhook/{run_id}-t{number}-pod{i}" for i in range(images)]
    single_repos = [f"bench-webhook/{run_id}-t{number}-alone{i}" for i in range(images)]
    reg.push(pod_repos + single_repos)
    pod = pod_review([reg.ref(repo) for repo in pod_repos])
    with server.client() as client:
        client.get("/healthz")  # the API server's connection is kept alive
        reg.reset_counts()
        started = time.perf_counter()
        answer = client.post("/validate?timeout=10s", json=pod)
        pod_s = time.perf_counter() - started
    judged(answer, images)
    requests = len(reg.requests)
    singles = tuple(
        resolve_alone(
            reg.ref(repo),
            warm_ref=warm_ref,
            registry_host=reg.host,
            cache=tmp / f"alone-{run_id}-{number}-{i}.db",  # empty: the warm-up connects
            home=tmp,
        )
        for i, repo in enumerate(single_repos)
    )
    return ColdTrial(pod_s=pod_s, singles_s=singles, requests=requests)


def cold_section(
    args: argparse.Namespace,
    reg: ChildRegistry,
    server: Server,
    tmp: Path,
    *,
    run_id: str,
    warm_ref: str,
    delay_ms: float,
) -> float:
    """Cold-pod trials with the registry ``delay_ms`` away; prints them, returns the ratio."""
    reg.set_delay(delay_ms / 1e3)
    try:
        trials = [
            cold_trial(
                n,
                f"{run_id}-d{delay_ms:g}",
                reg,
                server,
                tmp,
                images=args.cold_images,
                warm_ref=warm_ref,
            )
            for n in range(1, args.cold_trials + 1)
        ]
    finally:
        reg.set_delay(0.0)
    where = "loopback" if not delay_ms else f"{delay_ms:g} ms added before each request"
    print(
        f"cold pod, {args.cold_images} fresh images per trial, registry {where} "
        "(pod: one admission; alone: lookup.resolve on a fresh cache)"
    )
    print(
        f"{'trial':>5} {'pod':>10} {'slowest alone':>14} {'median alone':>13} "
        f"{'ratio':>6} {'req':>4}"
    )
    for n, trial in enumerate(trials, start=1):
        print(
            f"{n:5d} {trial.pod_s * 1e3:7.2f} ms {trial.slowest_s * 1e3:11.2f} ms "
            f"{statistics.median(trial.singles_s) * 1e3:10.2f} ms {trial.ratio:6.2f} "
            f"{trial.requests:4d}"
        )
    pod_median = statistics.median(t.pod_s for t in trials)
    slowest_median = statistics.median(t.slowest_s for t in trials)
    ratio = pod_median / slowest_median
    print(
        f"target cold ({where}): median pod {pod_median * 1e3:.2f} ms / median slowest "
        f"alone {slowest_median * 1e3:.2f} ms = {ratio:.2f}× "
        f"(≤ {COLD_TARGET}×: {verdict(ratio <= COLD_TARGET)})"
    )
    return ratio


# -- the run ------------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def run(args: argparse.Namespace, tmp: Path) -> int:
    from webhook.tls import write_self_signed

    run_id = uuid.uuid4().hex[:8]
    started = time.perf_counter()
    reg = ChildRegistry(tmp / "registry")
    servers: list[Server] = []
    try:
        pair = write_self_signed(tmp / "tls")
        ballast = start_ballast(
            tmp,
            registry_host=reg.host,
            cert=pair.cert,
            key=pair.key,
            workers=args.workers,
            threads=args.threads,
        )
        servers.append(ballast)
        bare = start_bare(
            tmp, cert=pair.cert, key=pair.key, workers=args.workers, threads=args.threads
        )
        servers.append(bare)
        warm_repos = [f"bench-webhook/{run_id}-warm{i}" for i in range(WARM_IMAGES)]
        reg.push(warm_repos)
        for server in servers:
            server.wait_ready()
        print(
            f"registry {reg.host} (child process); ballast webhook {ballast.url} and bare "
            f"endpoint {bare.url}: gunicorn gthread, {args.workers} workers × {args.threads} "
            f"threads, TLS, keep-alive; ready in {time.perf_counter() - started:.1f} s; "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}"
        )

        # Warm: one request fills the cache; a few more on new connections reach both workers.
        body = pod_review([reg.ref(repo) for repo in warm_repos], uid="bench")
        body_file = tmp / "review.json"
        body_file.write_text(json.dumps(body))
        script = tmp / "post.lua"
        script.write_text(POST_LUA)
        reg.reset_counts()
        for _ in range(8):
            with ballast.client() as client:
                judged(client.post("/validate", json=body), WARM_IMAGES)
        warm_requests = len(reg.requests)
        with bare.client() as client:
            answer = client.post("/validate", json=body)
            assert answer.status_code == 200 and answer.json()["response"]["allowed"] is True
        reg.reset_counts()
        print(
            f"warm-up: {warm_requests} registry requests for {WARM_IMAGES} images; "
            f"body {body_file.stat().st_size} bytes"
        )
        print()

        results: dict[str, list[LoadResult]] = {"bare": [], "ballast": []}
        profile_dir = Path(args.profile) if args.profile else None
        profile_paths: list[Path] = []
        for round_number in range(1, args.rounds + 1):
            for server in (bare, ballast):
                if profile_dir is not None and server is ballast and round_number == 1:
                    profile_dir.mkdir(parents=True, exist_ok=True)
                    seconds = _ms(args.duration) / 1e3
                    with profiled(server, profile_dir, seconds) as paths:
                        result = run_wrk(server, body_file, script, args)
                    profile_paths = paths
                else:
                    result = run_wrk(server, body_file, script, args)
                results[server.name].append(result)
                print(
                    f"  round {round_number} {server.name:8} {result.requests_per_s:7.0f} req/s  "
                    f"p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms  "
                    f"CPU {result.cpu_ms_per_request:.3f} ms/req  "
                    f"({result.requests} requests, {result.bad} bad, "
                    f"load {result.load_average:.1f})"
                )
        if reg.requests:
            print(f"  ! the registry saw {len(reg.requests)} requests under load (expected 0)")

        def mean(name: str, field: str) -> float:
            return statistics.fmean(getattr(r, field) for r in results[name])

        ratio = mean("ballast", "requests_per_s") / mean("bare", "requests_per_s")
        p99 = mean("ballast", "p99_ms")
        cpu_ratio = mean("ballast", "cpu_ms_per_request") / mean("bare", "cpu_ms_per_request")
        print()
        header = f"warm, wrk -t{args.wrk_threads} -c{args.connections} -d{args.duration}"
        header += f", mean of {args.rounds}"
        print(f"{header:36} {'req/s':>7} {'p50':>9} {'p99':>9} {'CPU/req':>10}")
        print("-" * 75)
        for name in ("bare", "ballast"):
            print(
                f"{name:36} {mean(name, 'requests_per_s'):7.0f} "
                f"{mean(name, 'p50_ms'):6.2f} ms {mean(name, 'p99_ms'):6.2f} ms "
                f"{mean(name, 'cpu_ms_per_request'):7.3f} ms"
            )
        print()
        print(
            f"target throughput: ballast / bare = {100 * ratio:.0f} % "
            f"(≥ {100 * THROUGHPUT_TARGET:.0f} %: {verdict(ratio >= THROUGHPUT_TARGET)}); "
            f"CPU per request {cpu_ratio:.1f}× the bare endpoint's"
        )
        print(
            f"target p99:        ballast p99 {p99:.2f} ms, worst round "
            f"{max(r.p99_ms for r in results['ballast']):.2f} ms "
            f"(< {P99_TARGET_MS:.0f} ms: {verdict(p99 < P99_TARGET_MS)})"
        )
        bad = sum(r.bad for rs in results.values() for r in rs)
        if bad:
            print(f"  ! {bad} non-2xx answers or socket errors under load")

        warm_ref = reg.ref(warm_repos[0])
        for delay_ms in args.registry_delays:
            print()
            cold_section(
                args, reg, ballast, tmp, run_id=run_id, warm_ref=warm_ref, delay_ms=delay_ms
            )
        if profile_dir is not None:
            print()
            print(f"profile of the ballast workers during round 1 ({profile_dir}):")
            summarize_profile(profile_paths)
        return 1 if bad else 0
    finally:
        for server in servers:
            server.stop()
        reg.close()


def scratch_dir() -> Path:
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return Path(tempfile.mkdtemp(prefix="ballast-bench-webhook-", dir=shm))
    return Path(tempfile.mkdtemp(prefix="ballast-bench-webhook-"))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="ballast webhook under wrk next to a bare Flask endpoint; a cold pod."
    )
    parser.add_argument("--duration", default="10s", help="wrk -d per round (10s)")
    parser.add_argument("--connections", type=int, default=16, help="wrk -c (16)")
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk -t (2)")
    parser.add_argument("--rounds", type=int, default=2, help="bare+ballast rounds (2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument("--threads", type=int, default=8, help="gthread threads per worker (8)")
    parser.add_argument("--cold-trials", type=int, default=5, help="cold pod trials (5)")
    parser.add_argument("--cold-images", type=int, default=5, help="images in the cold pod (5)")
    parser.add_argument(
        "--registry-delays",
        type=lambda text: [float(ms) for ms in text.split(",")],
        default=[0.0, 25.0],
        help="cold pod: ms the proxy waits before each registry request, one run each (0,25)",
    )
    parser.add_argument("--profile", metavar="DIR", help="py-spy the ballast workers in round 1")
    parser.add_argument("--serve-bare", metavar="HOST:PORT", help=argparse.SUPPRESS)
    parser.add_argument("--cert", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_bare:
        serve_bare(
            bind=args.serve_bare,
            cert=Path(args.cert),
            key=Path(args.key),
            workers=args.workers,
            threads=args.threads,
        )
        return 0
    if shutil.which("wrk") is None:
        parser.error("wrk is not installed: tests/run installs it (apt-get install wrk)")
    if args.rounds < 1 or args.cold_trials < 1 or args.cold_images < 1:
        parser.error("--rounds, --cold-trials and --cold-images must be at least 1")
    tmp = scratch_dir()
    try:
        return run(args, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
