"""Text from model files made safe for where it goes: the terminal and generated C comments.

Model files are untrusted: a node or tensor name may hold comment terminators, newlines,
control characters, invalid UTF-8 or 10 kB of anything. Names never become code (symbols are
derived from positions, not names); where a name is shown, it passes through one of these.
"""

from __future__ import annotations

#: characters a C comment shows as they are: printable ASCII without `*` and `/` (comment
#: delimiters), `\\` (line splices) and `?` (trigraphs); `%` escapes everything else
_COMMENT_SAFE = frozenset(chr(c) for c in range(0x20, 0x7F)) - set("*/\\?%")
COMMENT_LIMIT = 80
MESSAGE_LIMIT = 4000


def c_comment(text: str, limit: int = COMMENT_LIMIT) -> str:
    """`text` as the body of a C comment: safe characters kept, every other byte of its UTF-8
    as %XX, cut to `limit` characters (then ending in `...`)."""
    out = []
    size = 0
    for ch in text:
        piece = ch if ch in _COMMENT_SAFE else "".join(
            f"%{b:02X}" for b in ch.encode("utf-8", "surrogateescape"))
        if size + len(piece) > limit:
            out.append("...")
            break
        out.append(piece)
        size += len(piece)
    return "".join(out)


def printable(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """`text` as one terminal line: control and unprintable characters escaped as in Python
    literals (a newline becomes \\n), cut to `limit` characters."""
    out = []
    for ch in text:
        if ch.isprintable():
            out.append(ch)
        elif ch in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
        elif 0xD800 <= ord(ch) <= 0xDFFF:   # a surrogate-escaped byte of invalid UTF-8
            out.append(f"\\x{ord(ch) & 0xFF:02x}")
        elif ord(ch) < 0x100:
            out.append(f"\\x{ord(ch):02x}")
        else:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}")
    line = "".join(out)
    return line if len(line) <= limit else line[:limit - 3] + "..."
