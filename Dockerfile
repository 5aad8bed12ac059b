# syntax=docker/dockerfile:1
#
# ballast's own image, built the way ballast tells others to build theirs:
# - a build stage with the toolchain (pip, setuptools, the build backend) that
#   installs ballast and its dependencies into a virtual environment;
# - a runtime stage on python:3.11-slim that gets only that environment
#   (one COPY layer): no compiler, no pip cache, no apt lists, no sources, no tests;
# - a numeric non-root user, so Kubernetes can check runAsNonRoot without /etc/passwd.
#
# tests/deploy/test_image.py runs hadolint on this file and ballast's own history
# rules on the history BuildKit records for the runtime stage.

FROM python:3.11-slim-trixie AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
RUN python -m venv /opt/ballast
# Only what the wheel needs (.dockerignore keeps the rest of the context out).
COPY pyproject.toml README.md ./
COPY ballast ./ballast
COPY webhook ./webhook
COPY auditor ./auditor
# Installed, not editable; byte-compiled now because the root filesystem is
# read-only at run time. pip itself and setuptools are not needed there, nor is
# kubernetes/aio: the client ships a second, asyncio copy of all its generated
# code (about 68 MB unpacked) that ballast never imports
# (tests/deploy/test_image.py checks that the sync client loads without it).
RUN /opt/ballast/bin/pip install --no-cache-dir . \
    && /opt/ballast/bin/python -m pip uninstall --yes pip setuptools \
    && rm -rf /opt/ballast/lib/python3.11/site-packages/kubernetes/aio \
    && mkdir -p /staging/var/cache/ballast

FROM python:3.11-slim-trixie

LABEL org.opencontainers.image.title="ballast" \
      org.opencontainers.image.description="Keep dead weight out of Kubernetes container images: admission webhook, auditor and CLI." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="docker.io/library/python:3.11-slim-trixie"

ENV PATH=/opt/ballast/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    BALLAST_CACHE_PATH=/var/cache/ballast/facts.db

COPY --from=build /opt/ballast /opt/ballast
# The facts cache directory, owned by the runtime user (an emptyDir in Kubernetes).
COPY --from=build --chown=10001:10001 /staging/var/cache/ballast /var/cache/ballast

USER 10001:10001
EXPOSE 8443 9464
ENTRYPOINT ["ballast"]
