"""What a file must be to be kept as evidence: its size and its type, read from its bytes (no Django models)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import IO

import filetype

# filetype reads at most this many bytes to recognise a type (its own limit is 8192).
_HEAD = 8192


@dataclass(frozen=True)
class Detected:
    extension: str
    mime: str


def detect(head: bytes) -> Detected | None:
    """The file's type from its first bytes; None when it is not one filetype knows."""
    kind = filetype.guess(head)
    if kind is None:
        return None
    return Detected(extension=kind.extension, mime=kind.mime)


def read_head(stream: IO[bytes]) -> bytes:
    stream.seek(0)
    head = stream.read(_HEAD)
    stream.seek(0)
    return head


def sha256_of(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    stream.seek(0)
    for chunk in iter(lambda: stream.read(1024 * 1024), b""):
        digest.update(chunk)
    stream.seek(0)
    return digest.hexdigest()
