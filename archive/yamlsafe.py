"""YAML for untrusted files: plain scalars and lists only, with line numbers.

Anchors, aliases and tags are refused before anything is constructed, so an
alias bomb ("billion laughs") never expands, and every key comes back with
the line it is on for error messages.
"""

from __future__ import annotations

import yaml

from .errors import ValidationError

__all__ = ["load_mapping"]

# libyaml's C parser when the build has it: YAML is most of the cost of reading a file.
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_mapping(text: str, path: str, first_line: int = 1) -> tuple[dict, dict[str, int]]:
    """Parse a YAML mapping; return it and ``{key: line}`` for its top-level keys.

    ``first_line`` is the file line where ``text`` starts, so errors point
    into the real file.
    """

    def where(mark: yaml.Mark | None) -> int:
        return first_line + (mark.line if mark else 0)

    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.AliasEvent):
                raise ValidationError(
                    path,
                    where(event.start_mark),
                    f"YAML alias '*{event.anchor}' is not allowed",
                    hint="write the value out in full; anchors and aliases are refused",
                )
            anchor = getattr(event, "anchor", None)
            if anchor:
                raise ValidationError(
                    path,
                    where(event.start_mark),
                    f"YAML anchor '&{anchor}' is not allowed",
                    hint="remove the anchor; write each value out in full",
                )
            tag = getattr(event, "tag", None)
            implicit = getattr(event, "implicit", True)
            if tag and not (implicit is True or (isinstance(implicit, tuple) and any(implicit))):
                raise ValidationError(
                    path,
                    where(event.start_mark),
                    f"YAML tag '{tag}' is not allowed",
                    hint="remove the tag; values are plain strings, numbers, dates and lists",
                )
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark and mark and mark.index >= len(text.rstrip()):
            mark = exc.context_mark  # "unclosed at the end": point where it was opened
        problem = exc.problem or exc.context or "invalid YAML"
        raise ValidationError(
            path,
            where(mark),
            f"invalid YAML: {problem}",
            hint="check quoting and indentation; quote values that contain ':' or '#'",
        ) from None
    except yaml.YAMLError as exc:  # reader errors: control characters and the like
        raise ValidationError(path, first_line, f"invalid YAML: {exc}") from None

    if data is None:
        data, node = {}, None
    if not isinstance(data, dict):
        raise ValidationError(
            path, first_line, "expected a mapping of 'key: value' lines", hint="see FORMAT.md"
        )
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, _ in node.value:
            lines[str(key_node.value)] = where(key_node.start_mark)
    return data, lines
