"""Files filed with an objection or a repair application: PDF or images, told by their first
bytes (the name's extension must agree), under a size limit, kept with their sha256. The hashes
go into the action's details (:mod:`registry.filings`), so the chain covers what was filed.
Query functions take the session and never commit."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry.errors import InputError, TooLargeError
from registry.filings import MAX_ATTACHMENTS
from registry.tables import Attachment

# media type → (the first bytes that say so, the extensions a file of that type may carry)
KINDS: dict[str, tuple[tuple[bytes, ...], tuple[str, ...]]] = {
    "application/pdf": ((b"%PDF-",), (".pdf",)),
    "image/png": ((b"\x89PNG\r\n\x1a\n",), (".png",)),
    "image/jpeg": ((b"\xff\xd8\xff",), (".jpg", ".jpeg")),
    "image/webp": ((b"RIFF",), (".webp",)),  # and "WEBP" at byte 8: see sniff
}


@dataclass(frozen=True)
class Upload:
    """A file as received: the name its sender gave and its bytes."""

    name: str
    content: bytes


def sniff(content: bytes) -> str | None:
    """The media type the file's first bytes say, among those accepted; None otherwise."""
    for media_type, (magics, _) in KINDS.items():
        if any(content.startswith(m) for m in magics):
            if media_type == "image/webp" and content[8:12] != b"WEBP":
                continue
            return media_type
    return None


def _clean_name(name: str) -> str:
    base = PurePath(name.replace("\\", "/")).name.strip()
    return "".join(c for c in base if c.isprintable())[:200]


def described(uploads: list[Upload], *, max_bytes: int) -> list[dict[str, Any]]:
    """Each file checked (type by content, extension agreeing, size) and described as the
    action's details keep it; :class:`InputError` or :class:`TooLargeError` naming the file."""
    if len(uploads) > MAX_ATTACHMENTS:
        raise InputError(f"attachments: {len(uploads)} files; at most {MAX_ATTACHMENTS}")
    out = []
    for upload in uploads:
        name = _clean_name(upload.name)
        if not name:
            raise InputError("attachments: a file without a name")
        size = len(upload.content)
        if size == 0:
            raise InputError(f"attachments: {name} is empty")
        if size > max_bytes:
            raise TooLargeError(f"attachments: {name} is {size:,} bytes; at most {max_bytes:,}")
        media_type = sniff(upload.content)
        if media_type is None:
            raise InputError(
                f"attachments: {name} is not a PDF, PNG, JPEG or WebP file (by its content)"
            )
        extensions = KINDS[media_type][1]
        if PurePath(name).suffix.lower() not in extensions:
            raise InputError(
                f"attachments: {name} holds {media_type} but is named "
                f"{PurePath(name).suffix or 'without an extension'}; expected {extensions[0]}"
            )
        digest = hashlib.sha256(upload.content).hexdigest()
        out.append({"sha256": digest, "name": name, "media_type": media_type, "size": size})
    return out


def store(
    session: Session, *, entry_id: str, seq: int, uploads: list[Upload], refs: list[dict[str, Any]]
) -> list[Attachment]:
    """Keep the files of the entry's action ``seq`` (``refs``: as :func:`described` gave)."""
    rows = []
    seen: set[str] = set()
    for upload, ref in zip(uploads, refs, strict=True):
        if ref["sha256"] in seen:  # the same file twice in one filing is kept once
            continue
        seen.add(ref["sha256"])
        rows.append(
            Attachment(
                entry_id=entry_id,
                seq=seq,
                sha256=ref["sha256"],
                filename=ref["name"],
                media_type=ref["media_type"],
                size=ref["size"],
                content=upload.content,
            )
        )
    session.add_all(rows)
    session.flush()
    return rows


def attachment_of(session: Session, *, entry_id: str, sha256: str) -> Attachment | None:
    """The entry's file with this hash (the first filed, if filed twice)."""
    return session.scalars(
        select(Attachment)
        .where(Attachment.entry_id == entry_id, Attachment.sha256 == sha256)
        .order_by(Attachment.seq)
    ).first()
