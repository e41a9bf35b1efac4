"""Reading YAML as composed nodes, so every value keeps its line and its literal text.

`yaml.compose` with the SafeLoader builds no Python objects (no tags run), and a scalar's
text is what the author wrote: `DEBUG: yes` stays "yes" for an environment variable,
where `safe_load` would make it True.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import yaml

from gitserver.pipelines.buildspec.errors import InvalidBuildspec
from gitserver.pipelines.yamltext import SAFE_LOADER

_TRUE = {"yes", "true", "on", "y"}
_FALSE = {"no", "false", "off", "n"}


@dataclass(frozen=True, slots=True)
class Node:
    """A YAML node and where it is: `path` like `phases.build.commands[2]`."""

    node: yaml.Node
    path: str

    @property
    def line(self) -> int:
        """The node's 1-based line."""
        return int(self.node.start_mark.line) + 1

    def fail(self, reason: str) -> InvalidBuildspec:
        """An error naming this node's path and line."""
        return InvalidBuildspec(reason, path=self.path, line=self.line)

    def child(self, node: yaml.Node, key: str | int) -> Node:
        """The node at `key` below this one."""
        if isinstance(key, int):
            return Node(node, f"{self.path}[{key}]")
        return Node(node, f"{self.path}.{key}" if self.path else key)

    def is_null(self) -> bool:
        """An empty value (`key:` with nothing after it, or `~`/`null`)."""
        return isinstance(self.node, yaml.ScalarNode) and self.node.tag.endswith(":null")

    def items(self, allowed: frozenset[str] | None = None) -> Iterator[tuple[str, Node]]:
        """A mapping's entries; duplicate keys and keys outside `allowed` are errors."""
        if not isinstance(self.node, yaml.MappingNode):
            raise self.fail("must be a mapping")
        seen: set[str] = set()
        for key_node, value_node in self.node.value:
            key = Node(key_node, self.path)
            if not isinstance(key_node, yaml.ScalarNode):
                raise key.fail("keys must be strings")
            name = str(key_node.value)
            where = key.child(value_node, name)
            if name in seen:
                raise Node(key_node, where.path).fail("duplicate key")
            if allowed is not None and name not in allowed:
                known = ", ".join(sorted(allowed))
                raise Node(key_node, where.path).fail(f"unknown key (known: {known})")
            seen.add(name)
            yield name, where

    def sequence(self) -> list[Node]:
        """A sequence's entries."""
        if not isinstance(self.node, yaml.SequenceNode):
            raise self.fail("must be a list")
        return [self.child(item, index) for index, item in enumerate(self.node.value)]

    def sequence_like(self) -> bool:
        """Whether this is a YAML sequence."""
        return isinstance(self.node, yaml.SequenceNode)

    def text(self) -> str:
        """A scalar's literal text, whatever YAML would resolve it to."""
        if not isinstance(self.node, yaml.ScalarNode) or self.is_null():
            raise self.fail("must be a string")
        return str(self.node.value)

    def string(self) -> str:
        """A string scalar: a bare `true` or `42` is an error (quote it)."""
        node = self.node
        if (
            isinstance(node, yaml.ScalarNode)
            and not node.tag.endswith(":str")
            and not self.is_null()
        ):
            raise self.fail(f"must be a string, not {self.node.value!r} (quote it)")
        return self.text()

    def strings(self) -> tuple[str, ...]:
        """A list of strings, or a single string as a list of one."""
        if isinstance(self.node, yaml.ScalarNode):
            return (self.string(),)
        return tuple(item.string() for item in self.sequence())

    def boolean(self) -> bool:
        """`yes|no|true|false|on|off`, in any case."""
        value = self.text().lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise self.fail("must be yes or no")


def compose(text: str) -> Node:
    """The document's root node.

    Raises:
        InvalidBuildspec: not YAML, or empty.
    """
    try:
        root = yaml.compose(text, Loader=SAFE_LOADER)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = int(mark.line) + 1 if mark is not None else 0
        raise InvalidBuildspec(f"not valid YAML: {error.problem}", line=line) from None
    except yaml.YAMLError as error:
        raise InvalidBuildspec(f"not valid YAML: {error}") from None
    except RecursionError:  # PyYAML's composer recurses once per nesting level
        raise InvalidBuildspec("the buildspec is nested too deeply") from None
    if root is None:
        raise InvalidBuildspec("the buildspec is empty")
    return Node(root, "")
