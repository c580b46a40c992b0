"""Helpers shared by the security rules: image references."""

from __future__ import annotations

import re

from ...catalog import split_image

PRIVILEGED_REASON_ANNOTATION = "pdcheck.io/privileged-reason"


# --- image references ------------------------------------------------------------------------------

DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")
# A release tag: a version number, optionally 'v'-prefixed and with suffixes
# (v0.5.6.post2-cu129-amd64, 0.3.2, 1.2, 12.9.1-devel-ubuntu22.04, 20251106).
VERSION_TAG = re.compile(r"^v?\d+(\.\d+)+([.+_-][0-9A-Za-z][0-9A-Za-z.+_-]*)?$|^\d{8}([.+_-][0-9A-Za-z.+_-]+)?$")
# Tags that move by design even when they contain a date or number.
MOVING_WORDS = ("latest", "nightly", "dev", "main", "master", "edge", "stable", "head", "snapshot")


def image_pin_problem(image: str) -> str | None:
    """Why an image reference does not pin what runs, or None when it does.

    A digest pins (whatever the tag says). Otherwise the tag must look like a release: a version
    number (v0.5.6.post2-cu129-amd64, 0.3.2) and no moving word (latest, nightly, dev, ...).
    Used by `image-unpinned`.
    """
    image = (image or "").strip()
    if not image:
        return "no image"
    if "$(" in image or "<" in image:
        return None  # not known before run time; other rules report unresolved variables
    _, tag, digest = split_image(image)
    if digest and DIGEST.search("@" + digest):
        return None
    if tag is None:
        return "no tag (the registry serves `latest`)"
    lowered = tag.lower()
    if lowered == "latest":
        return "tag `latest`"
    words = re.split(r"[.+_-]", lowered)
    moving = next((w for w in words if w in MOVING_WORDS), None)
    if moving:
        return f"tag `{tag}` names a moving build (`{moving}`)"
    if not VERSION_TAG.match(tag):
        return f"tag `{tag}` is not a version"
    return None
