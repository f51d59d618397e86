"""Python source text as ``ruff format`` writes it: string literals, wrapped strings, docstrings.

The generated modules must pass ``ruff format --check`` without ever running ruff, so every
layout choice here copies what the formatter would produce (double quotes unless that needs
more escapes, exploded calls kept by their magic trailing comma, lines of at most 100).
"""

from __future__ import annotations

import re
import textwrap

__all__ = ["LINE_LENGTH", "bytes_literal", "docstring", "string_literal", "wrapped_literal"]

LINE_LENGTH = 100
_WORD = re.compile(r"\S+\s*|\s+")


def _escape(text: str, quote: str) -> str:
    out: list[str] = []
    for char in text:
        if char == "\\":
            out.append("\\\\")
        elif char == quote:
            out.append("\\" + quote)
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return "".join(out)


def string_literal(text: str) -> str:
    """A Python string literal for ``text``, quoted the way ruff prefers.

    Args:
        text: Any text; control characters are escaped, other characters kept as they are.
    """
    # ruff keeps double quotes unless single quotes would need fewer escapes.
    quote = "'" if text.count('"') > text.count("'") else '"'
    return f"{quote}{_escape(text, quote)}{quote}"


def bytes_literal(data: bytes) -> str:
    """A ``b"..."`` literal for ``data``, non-printable bytes written as ``\\xNN``."""
    quote = "'" if data.count(b'"') > data.count(b"'") else '"'
    out: list[str] = []
    for byte in data:
        char = chr(byte)
        if char in ("\\", quote):
            out.append("\\" + char)
        elif 0x20 <= byte < 0x7F:
            out.append(char)
        else:
            out.append(f"\\x{byte:02x}")
    return f"b{quote}{''.join(out)}{quote}"


def _fits(text: str, width: int) -> bool:
    return len(string_literal(text)) <= width


def wrapped_literal(text: str, width: int) -> list[str]:
    """``text`` as one literal, or as several (implicitly concatenated) that each fit ``width``.

    Args:
        text: The string to write.
        width: Room for each literal, quotes included.

    Returns:
        The literals in order; joined they spell ``text``. Lines break after spaces, and inside
        a word only when the word alone is longer than ``width``.
    """
    whole = string_literal(text)
    if len(whole) <= width:
        return [whole]
    chunks: list[str] = []
    current = ""
    for word in _WORD.findall(text):
        if current and len(string_literal(current + word)) > width:
            chunks.append(current)
            current = ""
        current += word
        while len(string_literal(current)) > width:
            # A word longer than a line (a URL, say): cut it, the literals join it up again.
            cut = next((n for n in range(len(current) - 1, 1, -1) if _fits(current[:n], width)), 1)
            chunks.append(current[:cut])
            current = current[cut:]
    if current:
        chunks.append(current)
    return [string_literal(chunk) for chunk in chunks]


def _wrap(text: str, width: int) -> list[str]:
    return textwrap.wrap(text, width=width, break_long_words=False, break_on_hyphens=False)


def docstring(text: str, indent: int) -> list[str]:
    """The lines of a docstring holding ``text``, wrapped to the line length.

    Args:
        text: The documentation; blank lines separate paragraphs.
        indent: Columns before the opening quotes.

    Returns:
        Lines without the indent: one ``\"\"\"...\"\"\"`` line when it fits, else the text
        lines followed by a line with the closing quotes.
    """
    body = text.strip().replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    paragraphs = [" ".join(part.split()) for part in re.split(r"\n\s*\n", body)]
    # ruff keeps a single line's closing quotes on it, spaced off a trailing quote.
    single = f'"""{paragraphs[0]}{" " if body.endswith(chr(34)) else ""}"""'
    if len(paragraphs) == 1 and indent + len(single) <= LINE_LENGTH:
        return [single]
    width = LINE_LENGTH - indent
    lines: list[str] = []
    for index, paragraph in enumerate(paragraphs):
        if index:
            lines.append("")
            lines.extend(_wrap(paragraph, width))
            continue
        # The first line holds the opening quotes, and must wrap even when the text would fit
        # without the closing ones: ruff would join a lone text line with its closing quotes.
        first, *rest = _wrap(paragraph, width - 6)
        lines.append(first)
        lines.extend(_wrap(" ".join(rest), width))
    lines[0] = '"""' + lines[0]
    lines.append('"""')
    return lines
