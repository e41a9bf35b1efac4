"""GitHub's published webhook schemas (npm `@octokit/webhooks-schemas`, pinned in
tests/schemas/package-lock.json; `scripts/test` installs it). A missing package is a
failure, never a skip: a payload nobody validated must not pass as validated."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA = Path(__file__).parent / "schemas/node_modules/@octokit/webhooks-schemas/schema.json"


@cache
def schema() -> dict[str, Any]:
    if not SCHEMA.is_file():
        raise AssertionError(
            f"{SCHEMA} is missing: run `npm ci` in tests/schemas (scripts/test does)"
        )
    return dict(json.loads(SCHEMA.read_text()))


def validate(definition: str, payload: Any) -> None:
    """Raise unless `payload` is GitHub's `definition` (`pull_request$opened`, ...)."""
    definitions = schema()["definitions"]
    assert definition in definitions, f"octokit has no {definition}"
    jsonschema.Draft7Validator(
        {"$ref": f"#/definitions/{definition}", "definitions": definitions},
        format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER,
    ).validate(payload)
