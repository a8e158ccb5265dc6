"""Where things live in a store (docs/STORE.md, "Layout"), and the names allowed there.

Every path a store reads or writes is built here from checked parts, so nothing a user or a
manifest says can point outside ``chunks/``, ``manifests/`` or ``tags/``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from thrifty.errors import StoreError

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
SHA256 = re.compile(r"[0-9a-f]{64}")
DEFAULT_TAG = "latest"


def check_name(value: str, what: str = "name") -> str:
    """``value`` if it is a valid name, version or tag; StoreError otherwise."""
    if not isinstance(value, str) or not NAME.fullmatch(value) or ".." in value:
        raise StoreError(
            f"{what} {value!r} is not allowed: use letters, digits, '.', '_' and '-' "
            "(at most 128, starting with a letter or digit)"
        )
    return value


def check_sha256(value: str, what: str = "SHA-256") -> str:
    """``value`` if it is a 256-bit digest in 64 lowercase hex digits; StoreError otherwise."""
    if not isinstance(value, str) or not SHA256.fullmatch(value):
        raise StoreError(f"{value!r} is not a {what} in 64 lowercase hex digits")
    return value


def chunk_path(sha256: str) -> str:
    return f"chunks/{check_sha256(sha256)[:2]}/{sha256}"


def manifest_path(name: str, version: str) -> str:
    return f"manifests/{check_name(name)}/{check_name(version, 'version')}.json"


def tag_path(name: str, tag: str) -> str:
    return f"tags/{check_name(name)}/{check_name(tag, 'tag')}.json"


@dataclass(frozen=True)
class Ref:
    """``name@version`` or ``name@tag``; a bare ``name`` is ``name@latest``."""

    name: str
    version: str  # a version or a tag: the store decides which (a version wins)

    @classmethod
    def parse(cls, text: str) -> Ref:
        name, _, version = text.partition("@")
        return cls(check_name(name), check_name(version or DEFAULT_TAG, "version"))

    def __str__(self) -> str:
        return f"{self.name}@{self.version}"


PATH = re.compile(
    r"chunks/(?P<h2>[0-9a-f]{2})/(?P<sha256>[0-9a-f]{64})"
    r"|manifests/(?P<name>[^/]+)/(?P<version>[^/]+)\.json"
    r"|tags/(?P<tag_name>[^/]+)/(?P<tag>[^/]+)\.json"
)


def parse_path(path: str) -> str:
    """``path`` if it is one of the layout's paths with valid parts; StoreError otherwise.

    The server checks every request path here before it touches the disk.
    """
    match = PATH.fullmatch(path)
    if match is None:
        raise StoreError(f"{path!r} is not a store path (chunks/, manifests/ or tags/)")
    if match["sha256"]:
        if match["h2"] != match["sha256"][:2]:
            raise StoreError(f"{path!r}: a chunk lives under its first two hex digits")
    elif match["name"]:
        manifest_path(match["name"], match["version"])
    else:
        tag_path(match["tag_name"], match["tag"])
    return path
