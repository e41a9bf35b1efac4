"""Pipeline files: JSON or YAML text to a validated `PipelineDefinition`.

A file holds the pipeline structure itself, or `{"pipeline": {...}}` as
`aws codepipeline get-pipeline` prints it (its `metadata` is ignored). JSON or YAML is
chosen by the file name's extension, else by the first character (`{` is JSON).
YAML is read with `safe_load`, and aliases are refused: a few nested aliases expand into
billions of nodes for every walk over the document (the "billion laughs").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import yaml

from gitserver.pipelines.definitions.errors import Kind, Problem, error_for
from gitserver.pipelines.definitions.model import PipelineDefinition
from gitserver.pipelines.definitions.validate import validate
from gitserver.pipelines.definitions.wire import from_wire
from gitserver.pipelines.definitions.wiretypes import describe
from gitserver.pipelines.yamltext import SAFE_LOADER

MAX_TEXT = 1024 * 1024
_WRAPPER = frozenset({"pipeline", "metadata"})
# No pipeline is more than a few levels deep; the parsers give up at Python's recursion
# limit (about a thousand levels), which must not escape as an internal error.
_TOO_DEEP = "the document is nested too deeply"


def parse_pipeline(text: str, *, filename: str | None = None) -> PipelineDefinition:
    """The validated pipeline a JSON or YAML pipeline file declares.

    Raises:
        DefinitionError: the text is not JSON or YAML, not a pipeline, or breaks a rule
            (every problem with its path).
    """
    return validate(from_wire(load_document(text, filename=filename)))


def load_document(text: str, *, filename: str | None = None) -> Mapping[str, Any]:
    """The PipelineDeclaration a pipeline file holds, unwrapped but not yet checked.

    Raises:
        InvalidStructure: the text is too long, not JSON or YAML, or not an object.
    """
    if len(text) > MAX_TEXT:
        raise _structure(f"a pipeline file is at most {MAX_TEXT} characters long")
    document = _json(text) if _is_json(text, filename) else _yaml(text)
    if not isinstance(document, dict):
        raise _structure(f"a pipeline file holds an object, not {describe(document)}")
    if "pipeline" in document and set(document) <= _WRAPPER:
        inner = document["pipeline"]
        if not isinstance(inner, dict):
            raise error_for([Problem(Kind.STRUCTURE, "pipeline", "must be an object")])
        return inner
    return document


def _is_json(text: str, filename: str | None) -> bool:
    if filename is not None:
        lowered = filename.lower()
        if lowered.endswith(".json"):
            return True
        if lowered.endswith((".yaml", ".yml")):
            return False
    return text.lstrip().startswith("{")


def _json(text: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise _structure(f"not valid JSON: line {e.lineno} column {e.colno}: {e.msg}") from None
    except RecursionError:
        raise _structure(_TOO_DEEP) from None


def _yaml(text: str) -> object:
    try:
        for event in yaml.parse(text, Loader=SAFE_LOADER):
            if isinstance(event, yaml.AliasEvent):
                raise _structure("YAML aliases (*name) are not accepted in pipeline files")
        return yaml.load(text, Loader=SAFE_LOADER)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"line {mark.line + 1} column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise _structure(f"not valid YAML: {where}{problem}") from None
    except RecursionError:  # PyYAML's composer recurses once per nesting level
        raise _structure(_TOO_DEEP) from None


def _structure(reason: str) -> Exception:
    return error_for([Problem(Kind.STRUCTURE, "", reason)])
