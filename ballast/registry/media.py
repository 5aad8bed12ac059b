"""Media types and the raw JSON shapes of manifests, indexes and configs.

Typed with TypedDict at the edge; :mod:`ballast.facts_builder` converts them once
into frozen dataclasses and nothing else touches the raw dicts.
See https://github.com/opencontainers/image-spec/blob/main/media-types.md.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"

IMAGE_MANIFESTS = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
INDEXES = frozenset({OCI_INDEX, DOCKER_MANIFEST_LIST})
SCHEMA1 = frozenset({DOCKER_SCHEMA1, DOCKER_SCHEMA1_SIGNED})

# Every kind we read, best first; schema1 is deliberately absent so a registry
# that still has only schema1 answers with it and we can refuse it clearly.
ACCEPT = ", ".join([OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST, DOCKER_MANIFEST])

BASE_NAME_ANNOTATION = "org.opencontainers.image.base.name"
BASE_DIGEST_ANNOTATION = "org.opencontainers.image.base.digest"


class PlatformJSON(TypedDict, total=False):
    architecture: str
    os: str
    variant: str
    # "os.version" and "os.features" exist but do not affect selection here.


class DescriptorJSON(TypedDict):
    mediaType: str
    digest: str
    size: int
    platform: NotRequired[PlatformJSON]
    annotations: NotRequired[dict[str, str]]


class ManifestJSON(TypedDict, total=False):
    schemaVersion: int
    mediaType: str
    config: DescriptorJSON
    layers: list[DescriptorJSON]
    manifests: list[DescriptorJSON]
    annotations: dict[str, str]


class HistoryJSON(TypedDict, total=False):
    created: str
    created_by: str
    comment: str
    author: str
    empty_layer: bool


class ContainerConfigJSON(TypedDict, total=False):
    User: str
    Env: list[str]
    Entrypoint: list[str] | None
    Cmd: list[str] | None
    WorkingDir: str
    Labels: dict[str, str] | None
    ExposedPorts: dict[str, object]


class ImageConfigJSON(TypedDict, total=False):
    architecture: str
    os: str
    variant: str
    created: str
    config: ContainerConfigJSON
    history: list[HistoryJSON]
    rootfs: dict[str, object]
