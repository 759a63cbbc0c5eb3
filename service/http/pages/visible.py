"""Characters a reader cannot see, shown as escapes: control characters (NUL, …), bidirectional
overrides (U+202E turns text around), zero-width and other format characters, line and paragraph
separators. A name that holds one shows ``\\u202e`` where it is, rather than misleading."""

from __future__ import annotations

import unicodedata
from typing import Any

from markupsafe import Markup

HIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def visible(value: Any) -> Any:
    """``value`` with every hidden character escaped; anything not text passes unchanged (the
    templates' ``finalize``: applied to every expression before autoescaping)."""
    if not isinstance(value, str):
        return value
    if all(unicodedata.category(c) not in HIDDEN for c in value):
        return value
    shown = "".join(_escape(c) if unicodedata.category(c) in HIDDEN else c for c in value)
    return Markup(shown) if isinstance(value, Markup) else shown
