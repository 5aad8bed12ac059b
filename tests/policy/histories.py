"""Real image histories (``docker history --no-trunc`` / config ``history[].created_by``).

Copied from the official images' configs (python, node, eclipse-temurin,
golang, debian, ubuntu; 2024 builds), so the history parser is tested on what
builders really write: the classic builder's ``/bin/sh -c #(nop)`` forms,
BuildKit's ``RUN /bin/sh -c ... # buildkit``, Debian's ``# debian.sh``
comment, backslash continuations turned into tabs.
"""

from __future__ import annotations

from ballast.facts import HistoryEntry, ImageFacts, LayerInfo, Platform

DEBIAN_ROOTFS = "# debian.sh --arch 'amd64' out/ 'bookworm' '@1719792000'"
DEBIAN_SLIM_ROOTFS = (
    "/bin/sh -c #(nop) ADD file:"
    "6ce1d8c5e6e2bbb9c6c1d8ee0d63a8ac9e9bbd2f60bb1bc5a4ac0d1bdbcc32ff in / "
)
DEBIAN_CMD = '/bin/sh -c #(nop)  CMD ["bash"]'

# buildpack-deps:bookworm (the base of the full python, node, ruby images)
BUILDPACK_CURL = (
    "/bin/sh -c set -eux; \tapt-get update; \tapt-get install -y --no-install-recommends "
    "\t\tca-certificates \t\tcurl \t\tgnupg \t\tnetbase \t\tsq \t\twget \t; "
    "\trm -rf /var/lib/apt/lists/*"
)
BUILDPACK_SCM = (
    "/bin/sh -c set -ex; \tapt-get update; \tapt-get install -y --no-install-recommends "
    "\t\tgit \t\tmercurial \t\topenssh-client \t\tsubversion \t\t\t\tprocps \t; "
    "\trm -rf /var/lib/apt/lists/*"
)
BUILDPACK_DEPS = (
    "/bin/sh -c set -ex; \tapt-get update; \tapt-get install -y --no-install-recommends "
    "\t\tautoconf \t\tautomake \t\tbzip2 \t\tdefault-libmysqlclient-dev \t\tdpkg-dev "
    "\t\tfile \t\tg++ \t\tgcc \t\timagemagick \t\tlibbz2-dev \t\tlibc6-dev "
    "\t\tlibcurl4-openssl-dev \t\tlibdb-dev \t\tlibevent-dev \t\tlibffi-dev \t\tlibgdbm-dev "
    "\t\tlibglib2.0-dev \t\tlibgmp-dev \t\tlibjpeg-dev \t\tlibkrb5-dev \t\tliblzma-dev "
    "\t\tlibmagickcore-dev \t\tlibmagickwand-dev \t\tlibmaxminddb-dev \t\tlibncurses5-dev "
    "\t\tlibncursesw5-dev \t\tlibpng-dev \t\tlibpq-dev \t\tlibreadline-dev \t\tlibsqlite3-dev "
    "\t\tlibssl-dev \t\tlibtool \t\tlibwebp-dev \t\tlibxml2-dev \t\tlibxslt-dev \t\tlibyaml-dev "
    "\t\tmake \t\tpatch \t\tunzip \t\txz-utils \t\tzlib1g-dev \t; \trm -rf /var/lib/apt/lists/*"
)

# python:3.12-slim-bookworm
PYTHON_SLIM_RUNTIME_DEPS = (
    "RUN /bin/sh -c set -eux; \tapt-get update; \tapt-get install -y --no-install-recommends "
    "\t\tca-certificates \t\tnetbase \t\ttzdata \t; \trm -rf /var/lib/apt/lists/* # buildkit"
)
PYTHON_SLIM_BUILD = (
    'RUN /bin/sh -c set -eux; \t\tsavedAptMark="$(apt-mark showmanual)"; \tapt-get update; '
    "\tapt-get install -y --no-install-recommends \t\tdpkg-dev \t\tgcc \t\tgnupg "
    "\t\tlibbluetooth-dev \t\tlibbz2-dev \t\tlibc6-dev \t\tlibdb-dev \t\tlibexpat1-dev "
    "\t\tlibffi-dev \t\tlibgdbm-dev \t\tliblzma-dev \t\tlibncursesw5-dev \t\tlibreadline-dev "
    "\t\tlibsqlite3-dev \t\tlibssl-dev \t\tmake \t\ttk-dev \t\tuuid-dev \t\twget \t\txz-utils "
    "\t\tzlib1g-dev \t; \t\twget -O python.tar.xz "
    '"https://www.python.org/ftp/python/${PYTHON_VERSION%%[a-z]*}/Python-$PYTHON_VERSION.tar.xz"; '
    '\twget -O python.tar.xz.asc "https://www.python.org/ftp/python/${PYTHON_VERSION%%[a-z]*}/'
    'Python-$PYTHON_VERSION.tar.xz.asc"; \tGNUPGHOME="$(mktemp -d)"; export GNUPGHOME; '
    '\tgpg --batch --keyserver hkps://keys.openpgp.org --recv-keys "$GPG_KEY"; '
    "\tgpg --batch --verify python.tar.xz.asc python.tar.xz; \tgpgconf --kill all; "
    '\trm -rf "$GNUPGHOME" python.tar.xz.asc; \tmkdir -p /usr/src/python; '
    "\ttar --extract --directory /usr/src/python --strip-components=1 --file python.tar.xz; "
    "\trm python.tar.xz; \t\tcd /usr/src/python; "
    '\tgnuArch="$(dpkg-architecture --query DEB_BUILD_GNU_TYPE)"; \t./configure '
    '\t\t--build="$gnuArch" \t\t--enable-loadable-sqlite-extensions \t\t--enable-optimizations '
    "\t\t--enable-option-checking=fatal \t\t--enable-shared \t\t--with-lto "
    '\t\t--with-system-expat \t\t--with-ensurepip \t; \tnproc="$(nproc)"; '
    '\tEXTRA_CFLAGS="$(dpkg-buildflags --get CFLAGS)"; '
    '\tLDFLAGS="$(dpkg-buildflags --get LDFLAGS)"; \tLDFLAGS="${LDFLAGS:--Wl},--strip-all"; '
    '\tmake -j "$nproc" \t\t"EXTRA_CFLAGS=${EXTRA_CFLAGS:-}" \t\t"LDFLAGS=${LDFLAGS:-}" '
    '\t\t"PROFILE_TASK=${PROFILE_TASK:-}" \t; \trm python; \tmake -j "$nproc" '
    '\t\t"EXTRA_CFLAGS=${EXTRA_CFLAGS:-}" '
    "\t\t\"LDFLAGS=${LDFLAGS:--Wl},-rpath='\\$$ORIGIN/../lib'\" "
    '\t\t"PROFILE_TASK=${PROFILE_TASK:-}" \t\tpython \t; \tmake install; \t\tcd /; '
    "\trm -rf /usr/src/python; \t\tfind /usr/local -depth \t\t\\( \t\t\t\\( -type d -a \\( "
    "-name test -o -name tests -o -name idle_test \\) \\) \t\t\t-o \\( -type f -a \\( "
    "-name '*.pyc' -o -name '*.pyo' -o -name 'libpython*.a' \\) \\) \t\t\\) -exec rm -rf '{}' + "
    "\t; \t\tldconfig; \t\tapt-mark auto '.*' > /dev/null; \tapt-mark manual $savedAptMark; "
    "\tfind /usr/local -type f -executable -not \\( -name '*tkinter*' \\) -exec ldd '{}' ';' "
    '\t\t| awk \'/=>/ { so = $(NF-1); if (index(so, "/usr/local/") == 1) { next }; '
    'gsub("^/(usr/)?", "", so); printf "*%s\\n", so }\' \t\t| sort -u '
    "\t\t| xargs -r dpkg-query --search \t\t| cut -d: -f1 \t\t| sort -u "
    "\t\t| xargs -r apt-mark manual \t; "
    "\tapt-get purge -y --auto-remove -o APT::AutoRemove::RecommendsImportant=false; "
    "\trm -rf /var/lib/apt/lists/*; \t\tpython3 --version # buildkit"
)
PYTHON_SYMLINKS = (
    "RUN /bin/sh -c set -eux; \tfor src in idle3 pydoc3 python3 python3-config; do "
    '\t\tdst="$(echo "$src" | tr -d 3)"; \t\t[ -s "/usr/local/bin/$src" ]; '
    '\t\t[ ! -e "/usr/local/bin/$dst" ]; '
    '\t\tln -svT "$src" "/usr/local/bin/$dst"; \tdone # buildkit'
)
# python:3.12-bookworm (full) builds on buildpack-deps and keeps the toolchain
PYTHON_FULL_EXTRA_DEPS = (
    "RUN /bin/sh -c set -eux; \tapt-get update; \tapt-get install -y --no-install-recommends "
    "\t\tlibbluetooth-dev \t\ttk-dev \t\tuuid-dev \t; \trm -rf /var/lib/apt/lists/* # buildkit"
)
PYTHON_FULL_BUILD = (
    "RUN /bin/sh -c set -eux; \t\twget -O python.tar.xz "
    '"https://www.python.org/ftp/python/${PYTHON_VERSION%%[a-z]*}/Python-$PYTHON_VERSION.tar.xz"; '
    "\tmkdir -p /usr/src/python; \ttar --extract --directory /usr/src/python "
    "--strip-components=1 --file python.tar.xz; \trm python.tar.xz; \t\tcd /usr/src/python; "
    '\t./configure \t\t--build="$gnuArch" \t\t--enable-shared \t\t--with-lto \t; '
    '\tmake -j "$nproc"; \tmake install; \t\tcd /; \trm -rf /usr/src/python; '
    "\t\tldconfig; \t\tpython3 --version # buildkit"
)

# node:20-bookworm-slim
NODE_SLIM_INSTALL = (
    'RUN /bin/sh -c ARCH= && dpkgArch="$(dpkg --print-architecture)"     '
    "&& case \"${dpkgArch##*-}\" in       amd64) ARCH='x64';;       arm64) ARCH='arm64';;       "
    '*) echo "unsupported architecture"; exit 1 ;;     esac     && set -ex     '
    '&& savedAptMark="$(apt-mark showmanual)"     && apt-get update && apt-get install -y '
    "ca-certificates curl wget gnupg dirmngr xz-utils libatomic1 --no-install-recommends     "
    "&& rm -rf /var/lib/apt/lists/*     && for key in       "
    "4ED778F539E3634C779C87C6D7062848A1AB005C     ; do       gpg --batch --keyserver "
    'hkps://keys.openpgp.org --recv-keys "$key"     ; done     && curl -fsSLO --compressed '
    '"https://nodejs.org/dist/v$NODE_VERSION/node-v$NODE_VERSION-linux-$ARCH.tar.xz"     '
    '&& tar -xJf "node-v$NODE_VERSION-linux-$ARCH.tar.xz" -C /usr/local --strip-components=1 '
    "--no-same-owner     && apt-mark auto '.*' > /dev/null     "
    "&& find /usr/local -type f -executable -exec ldd '{}' ';'       "
    '| awk \'/=>/ { so = $(NF-1); if (index(so, "/usr/local/") == 1) { next }; '
    'gsub("^/(usr/)?", "", so); printf "*%s\\n", so }\'       | sort -u       '
    "| xargs -r dpkg-query --search       | cut -d: -f1       | sort -u       "
    "| xargs -r apt-mark manual     "
    "&& apt-get purge -y --auto-remove -o APT::AutoRemove::RecommendsImportant=false     "
    "&& ln -s /usr/local/bin/node /usr/local/bin/nodejs     && node --version     "
    "&& npm --version # buildkit"
)
NODE_USER = (
    "RUN /bin/sh -c groupadd --gid 1000 node   && useradd --uid 1000 --gid node "
    "--shell /bin/bash --create-home node # buildkit"
)

# eclipse-temurin:21-jdk-jammy and :21-jre-jammy
UBUNTU_ARG_RELEASE = "ARG RELEASE"
UBUNTU_ARG_ARCH = "ARG LAUNCHPAD_BUILD_ARCH"
UBUNTU_LABEL_NAME = "LABEL org.opencontainers.image.ref.name=ubuntu"
UBUNTU_LABEL_VERSION = "LABEL org.opencontainers.image.version=22.04"
UBUNTU_ROOTFS = "ADD file:a5d32dc2ab15ff0d7fd5ab8a3e6d9d0b5c6a4f2b8b6b8e1d1c8c0e0f3b1c2d3e in / "
UBUNTU_CMD = 'CMD ["/bin/bash"]'
TEMURIN_DEPS = (
    "RUN /bin/sh -c set -eux;     apt-get update;     "
    "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends         "
    "curl         wget         fontconfig         ca-certificates p11-kit         tzdata         "
    'locales     ;     echo "en_US.UTF-8 UTF-8" >> /etc/locale.gen;     '
    "locale-gen en_US.UTF-8;     rm -rf /var/lib/apt/lists/* # buildkit"
)
TEMURIN_JDK = (
    'RUN /bin/sh -c set -eux;     ARCH="$(dpkg --print-architecture)";     '
    'case "${ARCH}" in        amd64)          '
    "ESUM='fffa52c22d797b715a962e6c8d11ec7d79b90dd819b5bc51d62137ea4b22a340';          "
    "BINARY_URL='https://github.com/adoptium/temurin21-binaries/releases/download/"
    "jdk-21.0.3%2B9/OpenJDK21U-jdk_x64_linux_hotspot_21.0.3_9.tar.gz';          ;;        "
    '*)          echo "Unsupported arch: ${ARCH}";          exit 1;          ;;     esac;     '
    "wget --progress=dot:giga -O /tmp/openjdk.tar.gz ${BINARY_URL};     "
    'echo "${ESUM} */tmp/openjdk.tar.gz" | sha256sum -c -;     mkdir -p "$JAVA_HOME";     '
    'tar --extract         --file /tmp/openjdk.tar.gz         --directory "$JAVA_HOME"         '
    "--strip-components 1         --no-same-owner     ;     rm -f /tmp/openjdk.tar.gz "
    "${JAVA_HOME}/lib/src.zip; # buildkit"
)
TEMURIN_JRE = TEMURIN_JDK.replace("OpenJDK21U-jdk_", "OpenJDK21U-jre_")
TEMURIN_VERIFY_JDK = (
    'RUN /bin/sh -c set -eux;     echo "Verifying install ...";     '
    'fileEncoding="$(echo \'System.out.println(System.getProperty("file.encoding"))\' '
    '| jshell -s -)"; [ "$fileEncoding" = \'UTF-8\' ]; rm -rf ~/.java;     '
    'echo "javac --version"; javac --version;     echo "java --version"; java --version;     '
    'echo "Complete." # buildkit'
)

GOLANG_ENV = "ENV GOLANG_VERSION=1.22.5"


def make_facts(
    steps: list[tuple[str, int | None]],
    *,
    labels: dict[str, str] | None = None,
    base_name: str = "",
    config_bytes: int = 7_000,
) -> ImageFacts:
    """ImageFacts from (created_by, compressed layer bytes or None for an empty layer)."""
    history: list[HistoryEntry] = []
    layers: list[LayerInfo] = []
    for number, (created_by, size) in enumerate(steps):
        empty = size is None
        history.append(HistoryEntry(created_by=created_by, empty_layer=empty))
        if not empty:
            digest = "sha256:" + f"{number:02d}" * 32
            layers.append(
                LayerInfo(
                    digest=digest,
                    media_type="application/vnd.oci.image.layer.v1.tar+gzip",
                    compressed_bytes=size or 0,
                    created_by=created_by,
                )
            )
    return ImageFacts(
        digest="sha256:" + "ab" * 32,
        media_type="application/vnd.oci.image.manifest.v1+json",
        platform=Platform("linux", "amd64"),
        config_digest="sha256:" + "cd" * 32,
        config_bytes=config_bytes,
        layers=tuple(layers),
        history=tuple(history),
        labels=labels or {},
        base_name=base_name,
    )


def python_slim_steps() -> list[tuple[str, int | None]]:
    """python:3.12-slim-bookworm: gcc installed and purged in one RUN."""
    return [
        (DEBIAN_SLIM_ROOTFS, 29_150_000),
        (DEBIAN_CMD, None),
        (
            "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            None,
        ),
        ("ENV LANG=C.UTF-8", None),
        (PYTHON_SLIM_RUNTIME_DEPS, 3_510_000),
        ("ENV GPG_KEY=7169605F62C751356D054A26A821E680E5FA6305", None),
        ("ENV PYTHON_VERSION=3.12.4", None),
        (PYTHON_SLIM_BUILD, 12_900_000),
        (PYTHON_SYMLINKS, 230),
        ('CMD ["python3"]', None),
    ]


def python_full_steps() -> list[tuple[str, int | None]]:
    """python:3.12-bookworm: buildpack-deps layers keep gcc, make and -dev packages."""
    return [
        (DEBIAN_ROOTFS, 49_550_000),
        (BUILDPACK_CURL, 24_050_000),
        (BUILDPACK_SCM, 64_140_000),
        (BUILDPACK_DEPS, 211_300_000),
        (
            "ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            None,
        ),
        ("ENV LANG=C.UTF-8", None),
        (PYTHON_FULL_EXTRA_DEPS, 6_160_000),
        ("ENV GPG_KEY=7169605F62C751356D054A26A821E680E5FA6305", None),
        ("ENV PYTHON_VERSION=3.12.4", None),
        (PYTHON_FULL_BUILD, 23_500_000),
        (PYTHON_SYMLINKS, 232),
        ('CMD ["python3"]', None),
    ]


def node_slim_steps() -> list[tuple[str, int | None]]:
    """node:20-bookworm-slim."""
    return [
        (DEBIAN_SLIM_ROOTFS, 29_150_000),
        (DEBIAN_CMD, None),
        (NODE_USER, 1_600),
        ("ENV NODE_VERSION=20.15.0", None),
        (NODE_SLIM_INSTALL, 40_900_000),
        ("ENV YARN_VERSION=1.22.22", None),
        ("COPY docker-entrypoint.sh /usr/local/bin/ # buildkit", 390),
        ('ENTRYPOINT ["docker-entrypoint.sh"]', None),
        ('CMD ["node"]', None),
    ]


def temurin_steps(*, jdk: bool) -> list[tuple[str, int | None]]:
    """eclipse-temurin:21-jdk-jammy (``jdk``) or :21-jre-jammy."""
    steps: list[tuple[str, int | None]] = [
        (UBUNTU_ARG_RELEASE, None),
        (UBUNTU_ARG_ARCH, None),
        (UBUNTU_LABEL_NAME, None),
        (UBUNTU_LABEL_VERSION, None),
        (UBUNTU_ROOTFS, 29_540_000),
        (UBUNTU_CMD, None),
        ("ENV JAVA_HOME=/opt/java/openjdk", None),
        (
            "ENV PATH=/opt/java/openjdk/bin:/usr/local/sbin:/usr/local/bin:"
            "/usr/sbin:/usr/bin:/sbin:/bin",
            None,
        ),
        ("ENV LANG=en_US.UTF-8 LANGUAGE=en_US:en LC_ALL=en_US.UTF-8", None),
        (TEMURIN_DEPS, 17_400_000),
        ("ENV JAVA_VERSION=jdk-21.0.3+9", None),
        (TEMURIN_JDK if jdk else TEMURIN_JRE, 158_000_000 if jdk else 52_000_000),
    ]
    if jdk:
        steps += [(TEMURIN_VERIFY_JDK, 160), ('CMD ["jshell"]', None)]
    return steps


UBUNTU_LABELS = {
    "org.opencontainers.image.ref.name": "ubuntu",
    "org.opencontainers.image.version": "22.04",
}
