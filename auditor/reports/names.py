"""Short display names for images in reports: the spec image as pods write it, familiar form.

Owns :func:`image_name`, shared by the report view and the diff so an image is
called the same everywhere. Names are untrusted text (pod specs): renderers
escape them. Pure; must not import Flask, the Kubernetes client or
:mod:`webhook`.
"""

from __future__ import annotations

from collections.abc import Sequence

from ballast.policy.message import short_image

__all__ = ["image_name", "repository_of"]


def image_name(spec_images: Sequence[str], references: Sequence[str], key: str) -> str:
    """``ghcr.io/acme/api:1.4``: the first spec spelling, else the first reference, else the key.

    Digests are cut to 12 hex digits and Docker Hub's ``docker.io/library/`` is dropped
    (docker's familiar form); text that is not a reference is cut to 60 characters.
    """
    for text in (*spec_images, *references):
        if text:
            return short_image(text)
    return short_image(key) if key else "?"


def repository_of(reference: str) -> str:
    """``registry/repository`` of a reference: digest and tag removed."""
    name = reference.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > slash else name
