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


def _refused(event: yaml.Event) -> tuple[str, str] | None:
    """Why a parse event is refused, as (message, hint): an alias, an anchor or an explicit
    tag; None for what is allowed."""
    if isinstance(event, yaml.AliasEvent):
        return (
            f"YAML alias '*{event.anchor}' is not allowed",
            "write the value out in full; anchors and aliases are refused",
        )
    anchor = getattr(event, "anchor", None)
    if anchor:
        return (
            f"YAML anchor '&{anchor}' is not allowed",
            "remove the anchor; write each value out in full",
        )
    tag = getattr(event, "tag", None)
    implicit = getattr(event, "implicit", True)
    if tag and not (implicit is True or (isinstance(implicit, tuple) and any(implicit))):
        return (
            f"YAML tag '{tag}' is not allowed",
            "remove the tag; values are plain strings, numbers, dates and lists",
        )
    return None


def load_mapping(text: str, path: str, first_line: int = 1) -> tuple[dict, dict[str, int]]:
    """Parse a YAML mapping; return it and ``{key: line}`` for its top-level keys.

    ``first_line`` is the file line where ``text`` starts, so errors point
    into the real file.
    """

    def where(mark: yaml.Mark | None) -> int:
        return first_line + (mark.line if mark else 0)

    try:
        for event in yaml.parse(text, Loader=_Loader):
            refused = _refused(event)
            if refused is not None:
                message, hint = refused
                raise ValidationError(path, where(event.start_mark), message, hint=hint)
        node = None
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if isinstance(node, yaml.MappingNode):
                _key_lines(node, path, where)  # before constructing: it flattens merge keys
            data = loader.construct_document(node) if node is not None else None
        except (ValueError, OverflowError) as exc:
            # A well-formed scalar naming an impossible date or time ("2023-02-30",
            # "25:00:00"): the constructor raises a plain ValueError, not a YAMLError.
            raise ValidationError(
                path,
                where(_unconstructible(node)),
                f"invalid date or time: {exc}",
                hint="write a real date as YYYY-MM-DD, or put the value in double quotes",
            ) from None
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
    lines = _key_lines(node, path, where) if isinstance(node, yaml.MappingNode) else {}
    if lines and len(data) != len(node.value):
        raise ValidationError(
            path,
            where(node.start_mark),
            "two keys mean the same thing (e.g. 'yes' and 'true')",
            hint="keep one line for each key",
        )
    if lines:
        # Dicts keep insertion order, so constructed keys line up with the nodes:
        # name lines as constructed too ("yes:" is the key True).
        for name, key_node in zip(data, (k for k, _ in node.value), strict=True):
            lines.setdefault(str(name), lines[str(key_node.value)])
    return data, lines


def _unconstructible(node: yaml.Node | None) -> yaml.Mark | None:
    """Where the first scalar that cannot be turned into a value is (an impossible date)."""
    todo = [node] if node is not None else []
    while todo:
        current = todo.pop(0)
        if isinstance(current, yaml.ScalarNode):
            try:
                yaml.SafeLoader("").construct_object(current)
            except (ValueError, OverflowError, yaml.YAMLError):
                return current.start_mark
        elif isinstance(current, yaml.MappingNode):
            todo += [part for pair in current.value for part in pair]
        elif isinstance(current, yaml.SequenceNode):
            todo += list(current.value)
    return node.start_mark if node is not None else None


def _key_lines(node: yaml.MappingNode, path: str, where) -> dict[str, int]:
    """``{key: line}`` (and ``key[i]`` for list items); refuses repeated and merge keys."""
    lines: dict[str, int] = {}
    for key_node, value_node in node.value:
        key = str(key_node.value)
        if key == "<<":
            raise ValidationError(
                path, where(key_node.start_mark), "YAML merge keys ('<<') are not allowed"
            )
        if key in lines:
            # Last-one-wins would let a later "status: public" undo an earlier restriction.
            raise ValidationError(
                path,
                where(key_node.start_mark),
                f"'{key}' is given twice (first at line {lines[key]})",
                hint="keep one line for each key",
            )
        lines[key] = where(key_node.start_mark)
        if isinstance(value_node, yaml.SequenceNode):
            for i, item in enumerate(value_node.value):
                lines[f"{key}[{i}]"] = where(item.start_mark)
    return lines
