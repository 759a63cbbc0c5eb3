"""The pages' posted forms: ``application/x-www-form-urlencoded`` fields, or
``multipart/form-data`` fields and files (parsed here exactly, by the boundary the browser
declared: the service takes no multipart library for a few forms)."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import Message
from urllib.parse import parse_qs

from fastapi import Request

from registry.attachments import Upload


class FormError(ValueError):
    """A body that is not the form it claims to be."""


@dataclass
class Posted:
    fields: dict[str, str] = field(default_factory=dict)
    files: list[Upload] = field(default_factory=list)


def _header_params(value: str, header: str) -> Message:
    holder = Message()
    holder[header] = value
    return holder


async def posted(request: Request) -> Posted:
    """The form's fields (first value of each) and its files (empty file inputs left out)."""
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    holder = _header_params(content_type, "content-type")
    if holder.get_content_type() != "multipart/form-data":
        try:
            text = body.decode()
        except UnicodeDecodeError as exc:
            raise FormError("the form is not UTF-8") from exc
        return Posted({k: v[0] for k, v in parse_qs(text).items()})
    boundary = holder.get_param("boundary", header="content-type")
    if not isinstance(boundary, str) or not boundary:
        raise FormError("multipart form without a boundary")
    out = Posted()
    parts = body.split(b"--" + boundary.encode("latin-1"))
    if len(parts) < 2 or not parts[-1].startswith(b"--"):
        raise FormError("multipart form without its closing boundary")
    for part in parts[1:-1]:
        if not part.startswith(b"\r\n") or not part.endswith(b"\r\n"):
            raise FormError("multipart part not delimited by CRLF")
        head, sep, content = part[2:-2].partition(b"\r\n\r\n")
        if not sep:
            raise FormError("multipart part without headers")
        disposition = next(
            (
                line.split(":", 1)[1].strip()
                for line in head.decode("utf-8", "replace").split("\r\n")
                if line.lower().startswith("content-disposition:")
            ),
            "",
        )
        params = _header_params(disposition, "content-disposition")
        name = params.get_param("name", header="content-disposition")
        filename = params.get_param("filename", header="content-disposition")
        if not isinstance(name, str):
            raise FormError("multipart part without a name")
        if isinstance(filename, str):
            if filename or content:  # a file input left empty sends a nameless empty part
                out.files.append(Upload(filename, content))
        elif name not in out.fields:
            try:
                out.fields[name] = content.decode()
            except UnicodeDecodeError as exc:
                raise FormError(f"field {name} is not UTF-8") from exc
    return out
