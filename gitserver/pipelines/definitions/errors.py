"""Errors of pipeline definitions; `aws_type` is CodePipeline's exception name.

A definition is checked whole: every broken rule becomes a `Problem` (the JSON path in
the wire shape and the reason), and one error carries them all. Its class, and so the
name an API caller sees, is the first problem's kind.

DefinitionError                      (package base, never raised itself)
├── InvalidStructure                 (InvalidInput) InvalidStructureException: the
│                                    pipeline as a whole (stages, artifacts, variables,
│                                    triggers, execution mode, a field of the wrong type)
├── InvalidStageDeclaration          (InvalidInput) InvalidStageDeclarationException
├── InvalidActionDeclaration         (InvalidInput) InvalidActionDeclarationException:
│                                    an action's type, provider, configuration, run order
├── PipelineValidation               (InvalidInput) ValidationException: a value breaks
│                                    the model's constraints (pattern, length, range),
│                                    or a start request names an undeclared variable
└── UnresolvedVariable               (InvalidInput) a `#{namespace.key}` with no value
                                     when an action starts (the action fails with it)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from gitserver.errors import DomainError, InvalidInput


class Kind(StrEnum):
    """Which declaration a problem belongs to; it picks the error class."""

    STRUCTURE = "InvalidStructureException"
    STAGE = "InvalidStageDeclarationException"
    ACTION = "InvalidActionDeclarationException"
    VALUE = "ValidationException"


@dataclass(frozen=True, slots=True)
class Problem:
    """One broken rule: where in the wire shape (`stages[1].actions[0].name`) and why."""

    kind: Kind
    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}" if self.path else self.reason


class DefinitionError(DomainError):
    """Base class of pipeline-definition errors (raise a subclass)."""

    def __init__(
        self,
        message: str,
        aws_type: str | None = None,
        *,
        problems: tuple[Problem, ...] = (),
    ) -> None:
        super().__init__(message, aws_type)
        self.problems = problems


class InvalidStructure(DefinitionError, InvalidInput):
    """The pipeline's structure breaks a rule."""

    aws_type = Kind.STRUCTURE.value


class InvalidStageDeclaration(DefinitionError, InvalidInput):
    """A stage declaration breaks a rule."""

    aws_type = Kind.STAGE.value


class InvalidActionDeclaration(DefinitionError, InvalidInput):
    """An action declaration breaks a rule (its type, provider or configuration)."""

    aws_type = Kind.ACTION.value


class PipelineValidation(DefinitionError, InvalidInput):
    """A value breaks the model's constraints, or a start names an undeclared variable."""

    aws_type = Kind.VALUE.value


class UnresolvedVariable(DefinitionError, InvalidInput):
    """A variable reference names a namespace or a key with no value."""


ERROR_OF: dict[Kind, type[DefinitionError]] = {
    Kind.STRUCTURE: InvalidStructure,
    Kind.STAGE: InvalidStageDeclaration,
    Kind.ACTION: InvalidActionDeclaration,
    Kind.VALUE: PipelineValidation,
}

_SHOWN = 10
"""Problems spelled out in the message; the rest are counted (all stay in `problems`)."""


def error_for(problems: Iterable[Problem]) -> DefinitionError:
    """One error carrying every problem, of the first problem's class."""
    found = tuple(problems)
    if not found:
        raise ValueError("error_for needs at least one problem")
    lines = [str(p) for p in found[:_SHOWN]]
    if len(found) > _SHOWN:
        lines.append(f"... and {len(found) - _SHOWN} more")
    return ERROR_OF[found[0].kind]("; ".join(lines), problems=found)


def raise_problems(problems: Iterable[Problem]) -> None:
    """Raise `error_for(problems)` if there are any.

    Raises:
        DefinitionError: the first problem's class, carrying all of them.
    """
    found = tuple(problems)
    if found:
        raise error_for(found)
