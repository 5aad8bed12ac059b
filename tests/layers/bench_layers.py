"""Benchmark: ballast layer analysis against dive and a decompress-and-list floor.

Not collected by pytest (no ``test_`` prefix). Run::

    .venv/bin/python -m tests.layers.bench_layers [--scale 1.0] [--no-dive] [--keep DIR]

It generates a docker-archive (kaniko style, gzipped layers) of about 330 MB
per unit of scale, in 6 layers with 2000 overwrites, 3000 file deletions, a
directory deletion and opaque whiteouts, then prints wall time, peak RSS and
the dive-compatible numbers of: ballast (in a child process), ``dive --ci``
(when installed) and ``gzip -dc | tar -tv`` over the layer blobs.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

MB = 1 << 20


def generate(out: Path, scale: float, seed: int = 42) -> None:
    rng = random.Random(seed)
    noise = os.urandom(8 * MB)
    text = b"".join(
        b"line %d of some config or source text %d\n" % (i, i * 7) for i in range(200_000)
    )

    def content(size: int) -> bytes:
        data = bytearray()
        while len(data) < size:
            source = noise if rng.random() < 0.5 else text
            start = rng.randrange(0, len(source) - 65536)
            data += source[start : start + min(65536, size - len(data))]
        return bytes(data)

    def sizes(count: int, total: int) -> list[int]:
        weights = [rng.paretovariate(1.2) for _ in range(count)]
        scale_by = total / sum(weights)
        return [int(w * scale_by) for w in weights]

    class Layer:
        def __init__(self) -> None:
            self.buffer = io.BytesIO()
            self.tar = tarfile.open(  # noqa: SIM115 - closed in done()
                fileobj=self.buffer, mode="w", format=tarfile.PAX_FORMAT
            )
            self.dirs: set[str] = set()

        def directory(self, path: str) -> None:
            parts = path.split("/")
            for i in range(1, len(parts) + 1):
                name = "/".join(parts[:i])
                if name not in self.dirs:
                    self.dirs.add(name)
                    info = tarfile.TarInfo(name)
                    info.type = tarfile.DIRTYPE
                    self.tar.addfile(info)

        def file(self, path: str, size: int) -> None:
            self.directory(path.rpartition("/")[0])
            info = tarfile.TarInfo(path)
            info.size = size
            self.tar.addfile(info, io.BytesIO(content(size)))

        def marker(self, path: str) -> None:
            self.directory(path.rpartition("/")[0])
            self.tar.addfile(tarfile.TarInfo(path))

        def done(self) -> bytes:
            self.tar.close()
            return self.buffer.getvalue()

    layers = []
    layer = Layer()
    base = []
    for i, size in enumerate(sizes(int(30_000 * scale), int(260 * MB * scale))):
        base.append(f"usr/lib/pkg{i % 600}/file{i}.so")
        layer.file(base[-1], size)
    layers.append(layer.done())
    layer = Layer()
    for i, size in enumerate(sizes(int(12_000 * scale), int(120 * MB * scale))):
        layer.file(f"app/src/mod{i % 300}/f{i}.py", size)
    for i, size in enumerate(sizes(int(3_000 * scale), int(80 * MB * scale))):
        layer.file(f"var/lib/apt/lists/part{i % 10}/list{i}", size)
    layers.append(layer.done())
    layer = Layer()
    for path in rng.sample(base, int(2000 * scale)):
        layer.file(path, rng.randrange(1000, 60000))
    for path in rng.sample(base, int(3000 * scale)):
        parent, _, name = path.rpartition("/")
        layer.marker(f"{parent}/.wh.{name}")
    layers.append(layer.done())
    layer = Layer()
    layer.marker("var/lib/apt/.wh.lists")
    for i, size in enumerate(sizes(int(5000 * scale), int(60 * MB * scale))):
        layer.file(f"opt/tool/bin{i % 50}/t{i}", size)
    layers.append(layer.done())
    layer = Layer()
    for k in range(20):
        layer.marker(f"usr/lib/pkg{k}/.wh..wh..opq")
        for j in range(10):
            layer.file(f"usr/lib/pkg{k}/new{j}.so", 50_000)
    layers.append(layer.done())
    layer = Layer()
    layer.file("etc/app.conf", 2000)
    layers.append(layer.done())

    diff_ids = ["sha256:" + hashlib.sha256(x).hexdigest() for x in layers]
    blobs = [gzip.compress(x, compresslevel=6, mtime=0) for x in layers]
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "history": [{"created_by": f"RUN step {i}"} for i in range(len(layers))],
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        }
    ).encode()
    names = [hashlib.sha256(b).hexdigest() + ".tar.gz" for b in blobs]
    config_name = "sha256:" + hashlib.sha256(config).hexdigest()
    manifest = [{"Config": config_name, "RepoTags": ["bench:latest"], "Layers": names}]
    with tarfile.open(out, "w") as archive:
        for name, data in [*zip(names, blobs, strict=True), (config_name, config)]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        data = json.dumps(manifest).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))


CHILD = """
import json, resource, sys, time
from ballast.layers import analyze_archive
start = time.perf_counter()
report = analyze_archive("docker-archive:" + sys.argv[1])
print(json.dumps({"wall": time.perf_counter() - start,
    "efficiency": report.efficiency, "wastedBytes": report.wasted_bytes,
    "userWastedPercent": report.user_wasted_percent, "sizeBytes": report.uncompressed_bytes,
    "hiddenBytes": report.hidden_bytes}))
"""


def run_ours(archive: Path) -> dict[str, float]:
    # /usr/bin/time measures the child alone (ru_maxrss would include this process's peak).
    done = subprocess.run(
        ["/usr/bin/time", "-f", "RSS %M", sys.executable, "-c", CHILD, str(archive)],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(done.stdout)
    rss = re.search(r"RSS (\d+)", done.stderr)
    result["rss_mb"] = int(rss.group(1)) / 1024 if rss else float("nan")
    return result


def run_dive(archive: Path) -> dict[str, float] | None:
    dive = shutil.which("dive") or str(Path(sys.executable).parent / "dive")
    if not Path(dive).exists():
        return None
    start = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "RSS %M", dive, "--ci", "--source", "docker-archive", str(archive)],
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    out = done.stdout + done.stderr
    rss = re.search(r"RSS (\d+)", out)
    efficiency = re.search(r"efficiency=([\d.]+)|efficiency: ([\d.]+) %", out)
    wasted = re.search(r"wastedBytes: (\d+)", out)
    user = re.search(r"userWastedPercent: ([\d.]+) %", out)
    return {
        "wall": wall,
        "rss_mb": int(rss.group(1)) / 1024 if rss else float("nan"),
        "efficiency%": float(next(g for g in efficiency.groups() if g))
        if efficiency
        else float("nan"),
        "wastedBytes": int(wasted.group(1)) if wasted else -1,
        "userWastedPercent%": float(user.group(1)) if user else float("nan"),
    }


def run_floor(archive: Path, workdir: Path) -> float:
    blobs = workdir / "blobs"
    blobs.mkdir(exist_ok=True)
    with tarfile.open(archive) as outer:
        outer.extractall(blobs, filter="data")
    start = time.perf_counter()
    for blob in sorted(blobs.glob("*.tar.gz")):
        subprocess.run(f"gzip -dc {blob} | tar -tv > /dev/null", shell=True, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--no-dive", action="store_true")
    parser.add_argument("--keep", type=Path, help="directory to keep the archive in")
    args = parser.parse_args()
    workdir = args.keep or Path(tempfile.mkdtemp(prefix="ballast-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    archive = workdir / f"bench-{args.scale}.tar"
    if not archive.exists():
        generate(archive, args.scale)
    print(f"archive {archive}: {archive.stat().st_size / 1e6:.0f} MB")
    ours = run_ours(archive)
    print("ballast :", json.dumps(ours))
    if not args.no_dive:
        print("dive    :", json.dumps(run_dive(archive)))
    print(f"floor   : gzip -dc | tar -tv over the layers: {run_floor(archive, workdir):.2f}s")
    if args.keep is None:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
