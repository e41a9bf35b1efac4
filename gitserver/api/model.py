"""botocore's models (CodeCommit's, and CodePipeline's for the pipelines API), used at
run time to check input and shape output.

botocore's own client checks only `required`, `min` and types; the server enforces the
rest (max lengths, patterns, enums, list sizes) with the model's exception names. Output
is walked against the output shape: unknown members and `None` dropped, timestamps as
epoch seconds, blobs as base64 — what botocore's parser reads back without loss.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from botocore.loaders import Loader
from botocore.model import OperationModel, ServiceModel, Shape

from gitserver.api.errors import ApiError

TARGET_PREFIX = "CodeCommit_20150413"
# AWS's generic name for a parameter that breaks a constraint the operation has no
# modeled exception for: CodeCommit's, and that of every other service (CodePipeline).
GENERIC_INVALID = "InvalidParameterException"
GENERIC_VALIDATION = "ValidationException"


@functools.cache
def service_model(service: str = "codecommit") -> ServiceModel:
    return ServiceModel(Loader().load_service_model(service, "service-2"))


def operation(name: str, service: str = "codecommit") -> OperationModel | None:
    model = service_model(service)
    return model.operation_model(name) if name in model.operation_names else None


def _capital(name: str) -> str:
    return name[:1].upper() + name[1:]


class _Checker:
    """Walks one operation's input, naming violations with the operation's exceptions."""

    def __init__(self, op: OperationModel) -> None:
        self.errors = {shape.name for shape in op.error_shapes}
        codecommit = op.service_model.metadata.get("targetPrefix") == TARGET_PREFIX
        self.generic = GENERIC_INVALID if codecommit else GENERIC_VALIDATION

    def _pick(self, *candidates: str) -> str:
        return next((c for c in candidates if c in self.errors), self.generic)

    def required(self, member: str, shape: Shape) -> ApiError:
        name = self._pick(
            f"{_capital(member)}RequiredException",
            f"{shape.name}RequiredException",
            f"{_capital(member).removesuffix('s')}ListRequiredException",
        )
        return ApiError(name, f"{member} is required")

    def invalid(self, member: str, shape: Shape, why: str) -> ApiError:
        if member in {"nextToken", "NextToken"}:
            return ApiError(
                self._pick("InvalidContinuationTokenException", "InvalidNextTokenException"), why
            )
        name = self._pick(
            f"Invalid{_capital(member)}Exception",
            f"Invalid{shape.name}Exception",
            f"Invalid{_capital(member).removesuffix('Name')}NameException",
            # list items: RepositoryTriggerEventEnum -> InvalidRepositoryTriggerEventsException
            f"Invalid{shape.name.removesuffix('Enum')}sException",
            f"InvalidRepositoryTrigger{shape.name}Exception",
        )
        return ApiError(name, f"{member} is not valid: {why}")

    def too_many(self, member: str, shape: Shape, limit: int) -> ApiError:
        name = self._pick(
            f"Maximum{_capital(member)}ExceededException",
            f"Maximum{shape.name}ExceededException",
            f"Invalid{_capital(member)}Exception",
        )
        return ApiError(name, f"{member} has more than {limit} items")

    def value(self, member: str, shape: Shape, value: Any) -> Any:
        kind = shape.type_name
        if kind == "structure":
            if not isinstance(value, dict):
                raise self.invalid(member, shape, "expected an object")
            return self.structure(shape, value)
        if kind == "list":
            if not isinstance(value, list):
                raise self.invalid(member, shape, "expected a list")
            self._bounds(member, shape, value, too_many=True)
            return [self.value(member, shape.member, item) for item in value]
        if kind == "map":
            if not isinstance(value, dict):
                raise self.invalid(member, shape, "expected an object")
            self._bounds(member, shape, value, too_many=True)
            return {
                self.value(member, shape.key, k): self.value(member, shape.value, v)
                for k, v in value.items()
            }
        return self.scalar(member, shape, value)

    def scalar(self, member: str, shape: Shape, value: Any) -> Any:
        kind = shape.type_name
        if kind == "string":
            if not isinstance(value, str):
                raise self.invalid(member, shape, "expected a string")
            self._bounds(member, shape, value)
            pattern = shape.metadata.get("pattern")
            if pattern and not re.fullmatch(pattern.strip("^$"), value):
                raise self.invalid(member, shape, "does not match the required pattern")
            if shape.enum and value not in shape.enum:
                raise self.invalid(member, shape, "must be one of " + ", ".join(shape.enum))
            return value
        if kind in {"integer", "long"}:
            if isinstance(value, bool) or not isinstance(value, int):
                raise self.invalid(member, shape, "expected an integer")
            self._range(member, shape, value)
            return value
        if kind == "boolean":
            if not isinstance(value, bool):
                raise self.invalid(member, shape, "expected true or false")
            return value
        if kind == "blob":
            if not isinstance(value, str):
                raise self.invalid(member, shape, "expected base64 text")
            try:
                data = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise self.invalid(member, shape, "is not valid base64") from None
            if not data and shape.metadata.get("min"):
                raise self.required(member, shape)
            # The size limit is the server's `max_file_size`, checked where it is used.
            return data
        if kind == "timestamp":
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise self.invalid(member, shape, "expected epoch seconds")
            return value
        return value

    def _bounds(self, member: str, shape: Shape, value: Any, too_many: bool = False) -> None:
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if low is not None and len(value) < low:
            if not value:
                raise self.required(member, shape)
            raise self.invalid(member, shape, f"shorter than {low}")
        if high is not None and len(value) > high:
            if too_many:
                raise self.too_many(member, shape, high)
            raise self.invalid(member, shape, f"longer than {high}")

    def _range(self, member: str, shape: Shape, value: int) -> None:
        low, high = shape.metadata.get("min"), shape.metadata.get("max")
        if (low is not None and value < low) or (high is not None and value > high):
            raise self.invalid(member, shape, f"must be between {low} and {high}")

    def structure(self, shape: Shape, value: Mapping[str, Any]) -> dict[str, Any]:
        members = shape.members
        result: dict[str, Any] = {}
        for name in shape.required_members:
            if value.get(name) is None:
                raise self.required(name, members[name])
        for name, item in value.items():
            # Unknown members are ignored, as AWS does: newer SDKs may send more.
            if name in members and item is not None:
                result[name] = self.value(name, members[name], item)
        return result


def parse_input(op: OperationModel, body: Any) -> dict[str, Any]:
    """The operation's input, checked against every constraint of the model.

    Raises:
        ApiError: with the operation's exception name for the broken constraint.
    """
    if not isinstance(body, dict):
        raise ApiError("SerializationException", "The request body must be a JSON object")
    if op.input_shape is None:
        return {}
    return _Checker(op).structure(op.input_shape, body)


class WireList(list[Any]):
    """A list its handler built in its wire form already: JSON values only, no None
    members, only the model's member names. `shape_output` passes it through unwalked:
    walking 5,000 differences member by member cost more than reading them from git.
    `tests/unit/gitserver/test_wire_lists.py` holds each builder to what the walk would give."""


def shape_output(op: OperationModel, result: Mapping[str, Any]) -> dict[str, Any]:
    """`result` as the wire form of the output shape."""
    if op.output_shape is None:
        return {}
    return _serialize(op.output_shape, result)  # type: ignore[no-any-return]


def _serialize(shape: Shape, value: Any) -> Any:
    kind = shape.type_name
    if kind == "structure":
        return {
            name: _serialize(member, value[name])
            for name, member in shape.members.items()
            if value.get(name) is not None
        }
    if kind == "list":
        if isinstance(value, WireList):
            return value
        return [_serialize(shape.member, item) for item in value]
    if kind == "map":
        return {k: _serialize(shape.value, v) for k, v in value.items()}
    if kind == "timestamp":
        return value.timestamp() if isinstance(value, datetime) else float(value)
    if kind == "blob":
        return base64.b64encode(value).decode("ascii")
    return value
