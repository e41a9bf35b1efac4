"""Policy variables: ``${aws:username}``, defaults and escapes, parsed once into templates.

IAM UG "IAM policy elements: Variables and tags": under ``Version: 2012-10-17`` a
``${key}`` in ``Resource``/``NotResource`` or a condition value is replaced by the request
context's value for ``key`` (key names case-insensitive, like condition keys);
``${key, 'default'}`` supplies a value when the key is missing; ``${*}``, ``${?}`` and
``${$}`` stand for the literal characters. Under ``2008-10-17`` (or no Version) the text
is literal. A variable with neither a value nor a default makes its comparison fail.

Substituted values and escapes are always literal text, never wildcards: a tag value of
``*`` must not widen a ``StringLike`` or a resource ARN.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

# Tag keys may hold letters, digits, spaces and _ . : / = + - @ (IAM tag rules).
_VARIABLE = re.compile(
    r"\$\{\s*(?:(?P<escape>[*?$])|(?P<name>[\w.:/=+\-@ ]+?)"
    r"(?:\s*,\s*'(?P<default>[^']*)')?)\s*\}"
)


class TemplateSyntaxError(ValueError):
    """A ``${`` that does not start a well-formed variable."""


@dataclass(frozen=True, slots=True)
class Literal:
    """Policy text; in a wildcard context its ``*`` and ``?`` are wildcards."""

    text: str


@dataclass(frozen=True, slots=True)
class Fixed:
    """Text that is always literal: an escape like ``${*}``."""

    text: str


@dataclass(frozen=True, slots=True)
class Variable:
    """``${name}`` or ``${name, 'default'}``; ``name`` is lower-cased for lookup."""

    name: str
    default: str | None


Segment = Literal | Fixed | Variable


@dataclass(frozen=True, slots=True)
class Template:
    """A policy string split into segments; ``has_variables`` is False for plain text."""

    source: str
    segments: tuple[Segment, ...]

    @property
    def has_variables(self) -> bool:
        """Whether rendering needs the request context."""
        return any(isinstance(s, Variable) for s in self.segments)

    def render(self, context: Mapping[str, tuple[str, ...]]) -> tuple[tuple[str, bool], ...] | None:
        """Resolve variables: ``(text, wildcards_allowed)`` pieces, None if one is unresolved."""
        pieces: list[tuple[str, bool]] = []
        for segment in self.segments:
            if isinstance(segment, Literal):
                pieces.append((segment.text, True))
            elif isinstance(segment, Fixed):
                pieces.append((segment.text, False))
            else:
                value = resolve(segment, context)
                if value is None:
                    return None
                pieces.append((value, False))
        return tuple(pieces)

    def render_text(self, context: Mapping[str, tuple[str, ...]]) -> str | None:
        """Resolve variables into plain text, or None if one is unresolved."""
        pieces = self.render(context)
        return None if pieces is None else "".join(text for text, _ in pieces)


def resolve(variable: Variable, context: Mapping[str, tuple[str, ...]]) -> str | None:
    """The value of a variable: a single-valued context key, else its default."""
    values = context.get(variable.name)
    # A multivalued key has no single substitution (IAM UG: only single-valued keys
    # work as variables), so it counts as missing.
    if values is not None and len(values) == 1:
        return values[0]
    return variable.default


def parse_template(text: str, *, variables: bool) -> Template:
    """Split ``text`` into segments; with ``variables=False`` it is one literal.

    Raises:
        TemplateSyntaxError: a ``${`` that is not a well-formed variable or escape.
    """
    if not variables or "${" not in text:
        return Template(text, (Literal(text),) if text else ())
    segments: list[Segment] = []
    position = 0
    while (start := text.find("${", position)) != -1:
        match = _VARIABLE.match(text, start)
        if match is None:
            raise TemplateSyntaxError(f"malformed policy variable at offset {start}")
        if start > position:
            segments.append(Literal(text[position:start]))
        if match["escape"]:
            segments.append(Fixed(match["escape"]))
        else:
            segments.append(Variable(match["name"].strip().lower(), match["default"]))
        position = match.end()
    if position < len(text):
        segments.append(Literal(text[position:]))
    return Template(text, tuple(segments))
