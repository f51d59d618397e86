"""YAML with line numbers: every mapping key and sequence item remembers where it was written."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from streams.errors import DescriptorError

__all__ = ["Location", "SourceMap", "descriptor_error", "read_yaml", "show_path"]

Location = tuple[str | int, ...]
"""A path into a YAML document: mapping keys and sequence indexes (``("quality", 0, "min")``)."""


@dataclass(frozen=True, slots=True)
class SourceMap:
    """Where each key and item of one YAML document was written.

    Attributes:
        lines: Location -> 1-based line of the key (or of the sequence item).
    """

    lines: Mapping[Location, int] = field(default_factory=dict)

    def line_of(self, location: Sequence[str | int]) -> int:
        """The line of ``location``, or of its nearest written ancestor (1 for the document).

        Elements that are not in the document, such as the tag pydantic puts into the location
        of a tagged-union error, are skipped.
        """
        found: Location = ()
        for element in location:
            if (*found, element) in self.lines:
                found = (*found, element)
        return self.lines.get(found, 1)


def show_path(path: Path) -> str:
    """``path`` relative to the working directory when it is below it, else as given."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def descriptor_error(
    path: Path, problems: Sequence[tuple[int, str]], *, cause: str | None = None
) -> DescriptorError:
    """A :class:`DescriptorError` whose message lists each problem as ``file:line: message``.

    Args:
        path: The file.
        problems: ``(line, message)`` pairs, most important first; at least one.
        cause: Optional text put before the problems (e.g. ``"invalid product descriptor"``).
    """
    shown = show_path(path)
    lines = [f"{shown}:{line}: {message}" for line, message in problems]
    if cause:
        lines[0] = f"{shown}:{problems[0][0]}: {cause}: {problems[0][1]}"
    return DescriptorError(
        "\n".join(lines), path=shown, line=problems[0][0], problems=list(problems)
    )


def read_yaml(path: Path, *, what: str = "product descriptor") -> tuple[Any, SourceMap]:
    """Read one YAML document and the lines of its keys.

    Args:
        path: The file.
        what: What the file is, for messages.

    Raises:
        DescriptorError: The file is missing, unreadable, not valid YAML, has a key twice, or
            does not hold a mapping.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise descriptor_error(
            path, [(1, f"no such {what}; check the path or create the file")]
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise descriptor_error(path, [(1, f"cannot read the {what}: {exc}")]) from exc
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        # An error found at the end of the stream (an unclosed bracket or quote) is marked on
        # the line after the last one: the user's file ends on its last written line.
        written = max(1, len(text.rstrip().splitlines()))
        line = min(mark.line + 1, written) if mark is not None else 1
        problem = exc.problem or exc.context or "invalid syntax"
        raise descriptor_error(
            path,
            [
                (
                    line,
                    f"not valid YAML: {problem}; check the indentation and quote values "
                    "that contain ': ' or start with a special character",
                )
            ],
        ) from exc
    except yaml.YAMLError as exc:
        raise descriptor_error(path, [(1, f"not valid YAML: {exc}")]) from exc
    finally:
        loader.dispose()
    if node is None or not isinstance(node, yaml.MappingNode) or not isinstance(data, dict):
        line = node.start_mark.line + 1 if node is not None else 1
        raise descriptor_error(
            path,
            [(line, f"a {what} must be a YAML mapping of keys to values (e.g. 'name: ...')")],
        )
    lines: dict[Location, int] = {}
    _walk(node, (), lines, path)
    return data, SourceMap(lines)


def _walk(node: yaml.Node, location: Location, lines: dict[Location, int], path: Path) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else str(key_node)
            here = (*location, key)
            line = key_node.start_mark.line + 1
            if here in lines:
                dotted = ".".join(str(part) for part in here)
                raise descriptor_error(
                    path,
                    [(line, f"{dotted!r} is written twice (also on line {lines[here]}); keep one")],
                )
            lines[here] = line
            _walk(value_node, here, lines, path)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*location, index)] = item.start_mark.line + 1
            _walk(item, (*location, index), lines, path)
