"""Deep findings: each category fires on real files and stays quiet without them."""

from __future__ import annotations

import io
import json

from ballast.layers import Finding, LayerFacts, combine, read_layer, report_to_json
from tests.layers.layerkit import (
    APK_INSTALLED,
    DPKG_STATUS,
    Spec,
    compress,
    directory,
    file,
    symlink,
    tar_bytes,
    whiteout,
)

MiB = 1024 * 1024
BASE = [
    directory("usr/bin"),
    file("usr/lib/x86_64-linux-gnu/libc.so.6", 2 * MiB),
    file("etc/passwd", 100),
]
KEY = (
    b"-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAtotallyNotARealKeyButShapedLikeOne\n"
    b"-----END RSA PRIVATE KEY-----\n"
)
CERT = (
    b"-----BEGIN CERTIFICATE-----\nMIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBa\n"
    b"-----END CERTIFICATE-----\n"
)


def facts_of(*layers: list[Spec]) -> list[LayerFacts]:
    return [read_layer(io.BytesIO(compress(tar_bytes(layer), "gzip"))) for layer in layers]


def findings(*layers: list[Spec], history: list[str | None] | None = None) -> list[Finding]:
    return list(combine(facts_of(*layers), history or []).findings)


def rules(found: list[Finding]) -> set[tuple[str, str]]:
    return {(f.category, f.rule) for f in found}


# -- build-tools --------------------------------------------------------------------

GCC = [
    file("usr/bin/gcc-12", 1 * MiB, mode=0o755),
    symlink("usr/bin/gcc", "gcc-12"),
    file("usr/lib/gcc/x86_64-linux-gnu/12/cc1", 30 * MiB, mode=0o755),
    file("usr/lib/gcc/x86_64-linux-gnu/12/libgcc.a", 3 * MiB),
    file("var/lib/dpkg/status", DPKG_STATUS),
]


def test_a_compiler_in_the_final_image_is_a_build_tools_finding_with_packages() -> None:
    found = findings(BASE, GCC, history=["FROM debian", "RUN apt-get install -y gcc"])
    (compiler,) = [f for f in found if f.rule == "compiler"]
    assert compiler.category == "build-tools"
    assert compiler.bytes == 34 * MiB
    assert compiler.layer == 1
    assert compiler.created_by == "RUN apt-get install -y gcc"
    assert compiler.paths[0] == "/usr/lib/gcc"
    assert ("gcc-12", 69632 * 1024) in compiler.packages
    assert "multi-stage" in compiler.advice and "gcc-12: 71.3 MB" in compiler.advice
    assert "35.7 MB" in compiler.advice  # the saving
    dev = [f for f in found if f.rule == "dev-packages"]
    assert dev and dev[0].packages == (("libssl-dev", 12288 * 1024),)


def test_a_compiler_installed_and_purged_in_the_same_run_leaves_no_finding() -> None:
    """The trap: the RUN installed gcc and purged it; its layer holds no compiler file."""
    purged_status = DPKG_STATUS.replace(
        b"Package: gcc-12\nStatus: install ok installed",
        b"Package: gcc-12\nStatus: purge ok not-installed",
    )
    purged_status = purged_status.replace(
        b"Package: libssl-dev\nStatus: install ok installed",
        b"Package: libssl-dev\nStatus: deinstall ok config-files",
    )
    layer = [file("usr/local/bin/app", 2 * MiB), file("var/lib/dpkg/status", purged_status)]
    found = findings(
        BASE,
        layer,
        history=[
            None,
            "RUN apt-get install -y gcc && make && apt-get purge -y gcc"
            " && rm -rf /var/lib/apt/lists/*",
        ],
    )
    assert not [f for f in found if f.category == "build-tools"]


def test_stray_gcc_support_files_without_a_compiler_are_not_a_finding() -> None:
    found = findings(BASE, [file("usr/lib/gcc/x86_64-linux-gnu/12/libgcc_s.so", 100_000)])
    assert not [f for f in found if f.rule == "compiler"]


def test_go_rust_jdk_and_make_are_build_tools() -> None:
    found = findings(
        BASE,
        [
            file("usr/local/go/bin/go", 15 * MiB),
            file("usr/local/go/pkg/tool/linux_amd64/compile", 20 * MiB),
        ],
        [
            file("usr/local/cargo/bin/cargo", 5 * MiB),
            file("usr/local/rustup/toolchains/x/bin/rustc", 10 * MiB),
        ],
        [
            file("usr/lib/jvm/java-17/bin/javac", 100_000),
            file("usr/lib/jvm/java-17/jmods/java.base.jmod", 20 * MiB),
            file("usr/lib/jvm/java-17/bin/java", 100_000),
        ],
        [file("usr/bin/make", 250_000)],
    )
    assert {"go-toolchain", "rust-toolchain", "jdk", "build-system"} <= {f.rule for f in found}
    (jdk,) = [f for f in found if f.rule == "jdk"]
    assert jdk.bytes == 20 * MiB + 100_000  # java itself is the runtime, not counted


def test_a_jre_alone_is_not_a_jdk_finding() -> None:
    found = findings(
        BASE,
        [
            file("usr/lib/jvm/java-17/bin/java", 100_000),
            file("usr/lib/jvm/java-17/lib/modules", 50 * MiB),
        ],
    )
    assert not [f for f in found if f.rule == "jdk"]


def test_apk_packages_are_read_and_attributed_to_their_layer() -> None:
    report = combine(
        facts_of(
            BASE,
            [
                file("lib/apk/db/installed", APK_INSTALLED),
                file("usr/bin/gcc", 1 * MiB),
                file("usr/libexec/gcc/x86_64-alpine-linux-musl/13/cc1", 20 * MiB),
            ],
        )
    )
    assert [(p.name, p.installed_bytes, p.layer) for p in report.packages] == [
        ("gcc", 104857600, 1),
        ("musl", 622592, 1),
    ]
    (compiler,) = [f for f in report.findings if f.rule == "compiler"]
    assert compiler.packages == (("gcc", 104857600),)


# -- package-cache ------------------------------------------------------------------


def test_apt_lists_left_in_the_image_are_a_package_cache_finding() -> None:
    found = findings(
        BASE,
        [
            directory("var/lib/apt/lists"),
            file("var/lib/apt/lists/lock", 0),
            file(
                "var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4",
                9 * MiB,
            ),
        ],
        history=[None, "RUN apt-get update && apt-get install -y curl"],
    )
    (lists,) = [f for f in found if f.rule == "apt-lists"]
    assert lists.category == "package-cache"
    assert lists.bytes == 9 * MiB
    assert lists.paths == ("/var/lib/apt/lists",)
    assert "rm -rf /var/lib/apt/lists/*" in lists.advice and "9.4 MB" in lists.advice


def test_caches_cleaned_in_the_same_run_leave_no_finding() -> None:
    found = findings(
        BASE,
        [
            directory("var/lib/apt/lists"),
            file("var/lib/apt/lists/lock", 0),
            file("usr/bin/curl", 300_000),
        ],
    )
    assert not [f for f in found if f.category == "package-cache"]


def test_caches_deleted_in_a_later_layer_are_hidden_bytes_and_still_a_finding() -> None:
    found = findings(
        BASE,
        [
            file("root/.cache/pip/http/ab/cd/wheel", 25 * MiB),
            file("usr/local/lib/python3.11/site-packages/x.py", 1000),
        ],
        [whiteout("root/.cache")],
    )
    (pip,) = [f for f in found if f.rule == "pip-cache"]
    assert (pip.layer, pip.removed_by_layer, pip.bytes) == (1, 2, 25 * MiB)
    assert "same RUN" in pip.advice and "layer 2" in pip.advice


def test_npm_yarn_apk_and_yum_caches_are_found() -> None:
    found = findings(
        BASE,
        [
            file("root/.npm/_cacache/content-v2/sha512/aa", 2 * MiB),
            file("usr/local/share/.cache/yarn/v6/x", 2 * MiB),
            file("var/cache/apk/APKINDEX.tar.gz", 2 * MiB),
            file("var/cache/dnf/repo/packages/x.rpm", 2 * MiB),
        ],
    )
    assert {"npm-cache", "yarn-cache", "apk-cache", "yum-cache"} <= {f.rule for f in found}


# -- dev-leftovers ------------------------------------------------------------------


def test_a_git_directory_is_a_dev_leftover() -> None:
    found = findings(
        BASE,
        [
            file("app/main.py", 1000),
            file("app/.git/objects/pack/pack-1.pack", 4 * MiB),
            file("app/.git/HEAD", 23),
        ],
    )
    (vcs,) = [f for f in found if f.rule == "vcs"]
    assert (vcs.category, vcs.bytes, vcs.paths) == ("dev-leftovers", 4 * MiB + 23, ("/app/.git",))
    assert ".dockerignore" in vcs.advice


def test_tests_inside_libraries_are_not_dev_leftovers_but_app_tests_are() -> None:
    found = findings(
        BASE,
        [
            file("usr/lib/python3/dist-packages/numpy/tests/test_a.py", 500_000),
            file("app/node_modules/lodash/test/x.js", 500_000),
            file("app/tests/test_api.py", 300_000),
            file("app/coverage/lcov.info", 200_000),
        ],
    )
    (tests,) = [f for f in found if f.rule == "test-artifacts"]
    assert tests.bytes == 500_000
    assert set(tests.paths) == {"/app/tests", "/app/coverage"}


def test_dev_dependencies_present_in_node_modules_are_found() -> None:
    package_json = json.dumps(
        {
            "dependencies": {"express": "^4"},
            "devDependencies": {"jest": "^29", "@types/node": "^20"},
        }
    ).encode()
    found = findings(
        BASE,
        [
            file("app/package.json", package_json),
            file("app/node_modules/express/index.js", 100_000),
            file("app/node_modules/jest/build/index.js", 3 * MiB),
            file("app/node_modules/@types/node/index.d.ts", 1 * MiB),
        ],
        history=[None, "RUN npm install"],
    )
    (dev,) = [f for f in found if f.rule == "node-dev-dependencies"]
    assert dev.bytes == 4 * MiB
    assert set(dev.paths) == {"/app/node_modules/jest", "/app/node_modules/@types/node"}
    assert "--omit=dev" in dev.advice


def test_production_installs_have_no_dev_dependency_finding() -> None:
    package_json = json.dumps(
        {"dependencies": {"express": "^4"}, "devDependencies": {"jest": "^29"}}
    ).encode()
    found = findings(
        BASE,
        [
            file("app/package.json", package_json),
            file("app/node_modules/express/index.js", 100_000),
        ],
    )
    assert not [f for f in found if f.rule == "node-dev-dependencies"]


def test_pycache_for_another_python_is_a_leftover() -> None:
    found = findings(
        BASE,
        [
            file("usr/local/bin/python3.11", 20_000),
            file("app/__pycache__/main.cpython-39.pyc", 2 * MiB),
            file("app/__pycache__/util.cpython-311.pyc", 1 * MiB),
        ],
    )
    (pyc,) = [f for f in found if f.rule == "foreign-pycache"]
    assert pyc.bytes == 2 * MiB
    assert "cpython-39" in pyc.advice and "cpython-311" in pyc.advice


# -- secrets ------------------------------------------------------------------------


def test_a_private_key_is_a_high_secret_finding_without_its_contents() -> None:
    report = combine(facts_of(BASE, [file("root/.ssh/id_rsa", KEY)]), [None, "COPY . /root"])
    (secret,) = [f for f in report.findings if f.category == "secrets"]
    assert (secret.severity, secret.rule, secret.paths) == (
        "high",
        "private-key",
        ("/root/.ssh/id_rsa",),
    )
    assert secret.created_by == "COPY . /root"
    assert b"MIIEowIBAAKC" not in json.dumps(report_to_json(report)).encode()
    assert report.findings[0] == secret  # high severity sorts first


def test_certificates_and_library_fixtures_are_not_secrets() -> None:
    found = findings(
        BASE,
        [
            file("etc/ssl/certs/ca.pem", CERT),
            file("usr/lib/python3/dist-packages/tornado/test/test.key", KEY),
            file("app/.env.example", b"TOKEN=changeme\n"),
            file("app/.npmrc", b"registry=https://registry.npmjs.org/\n"),
        ],
    )
    assert not [f for f in found if f.category == "secrets"]


def test_env_files_tokens_and_cloud_credentials_are_secrets() -> None:
    found = findings(
        BASE,
        [
            file("app/.env", b"DATABASE_URL=postgres://u:p@db/app\n"),
            file("root/.npmrc", b"//registry.npmjs.org/:_authToken=npm_abcdef\n"),
            file("root/.pypirc", b"[pypi]\nusername = __token__\npassword = pypi-AgEI\n"),
            file("root/.docker/config.json", b'{"auths": {"ghcr.io": {"auth": "dXNlcjpwYXNz"}}}'),
            file(
                "root/.aws/credentials",
                b"[default]\naws_access_key_id = AKIA\naws_secret_access_key = abc\n",
            ),
            file(
                "root/.config/gcloud/application_default_credentials.json",
                b'{"refresh_token": "1//x", "type": "authorized_user"}',
            ),
            file("certs/server.key", KEY),
        ],
    )
    assert {f.rule for f in found if f.category == "secrets"} == {
        "dotenv",
        "npmrc",
        "pypirc",
        "docker-config",
        "aws-credentials",
        "cloud-credentials",
        "private-key",
    }
    assert all(f.severity == "high" for f in found if f.category == "secrets")


def test_a_secret_deleted_in_a_later_layer_is_still_reported() -> None:
    found = findings(BASE, [file("build/.env", b"API_KEY=abc123\n")], [whiteout("build/.env")])
    (secret,) = [f for f in found if f.category == "secrets"]
    assert (secret.layer, secret.removed_by_layer) == (1, 2)
    assert "still readable in layer 1" in secret.advice


# -- runtime-tools ------------------------------------------------------------------


def test_shells_package_managers_and_debug_tools_are_informational() -> None:
    found = findings(
        BASE,
        [
            file("bin/bash", 1 * MiB),
            file("usr/bin/apt-get", 100_000),
            file("usr/bin/curl", 300_000),
            file("usr/bin/vim.basic", 3 * MiB),
        ],
    )
    tools = {f.rule: f for f in found if f.category == "runtime-tools"}
    assert set(tools) == {"shell", "package-manager", "debug-tools"}
    assert all(f.severity == "info" for f in tools.values())
    assert tools["debug-tools"].bytes == 3 * MiB + 300_000


def test_a_distroless_style_image_has_no_runtime_tools() -> None:
    found = findings(
        [file("app/server", 10 * MiB), file("etc/passwd", 10), file("usr/lib/libc.so", 1 * MiB)]
    )
    assert not [f for f in found if f.category == "runtime-tools"]


def test_findings_are_deterministic_and_json_shaped() -> None:
    layers = [BASE, GCC, [file("root/.ssh/id_rsa", KEY)], [file("bin/sh", 100_000)]]
    one = combine(facts_of(*layers), ["FROM x", "RUN gcc", "COPY key", "COPY sh"])
    two = combine(facts_of(*layers), ["FROM x", "RUN gcc", "COPY key", "COPY sh"])
    assert one == two
    document = report_to_json(one)
    for item in document["findings"]:
        assert {"category", "severity", "bytes", "paths", "layer", "createdBy", "advice"} <= set(
            item
        )
    assert document["findings"][0]["category"] == "secrets"
