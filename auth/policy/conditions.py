"""A compiled condition entry (one operator, one key) and the rule deciding whether it holds.

IAM UG "Condition operators" and "Single-valued vs. multivalued context keys":

* values of one key are ORed; entries are ANDed by the statement;
* a missing key makes the entry false, except: ``...IfExists`` -> true, a negated operator
  (``StringNotEquals``, ``NotIpAddress``, ``ArnNotLike``...) -> true,
  ``ForAllValues:`` -> true, ``ForAnyValue:`` -> false; ``Null`` tests presence only.
  An empty list counts as missing ("resolves to a null data set");
* ``ForAnyValue:`` holds if some request value matches, ``ForAllValues:`` if every one does;
* without a set qualifier a multivalued key (``codecommit:References`` of a push touching
  several refs) holds if *any* of its values satisfies the operator, i.e. it reads as
  ``ForAnyValue:``. The IAM UG defines single-valued operators against "the" request
  value and tells authors to use a set qualifier on multivalued keys, without saying
  what happens otherwise. Per-value OR is the natural extension of "OR across values";
  for the documented Deny patterns (positive ``StringEquals``/``Like`` on refs) it errs
  toward denying. The pre-receive hook evaluates ``GitPush`` once per ref anyway, where
  the key is single-valued and the question does not arise;
* a policy variable without a value or default makes the entry false (no comparison).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from auth.policy.grammar import ConditionEntry
from auth.policy.operators import Comparator, Family, Operator, comparator
from auth.policy.variables import Template

Context = Mapping[str, tuple[str, ...]]
"""The request context after normalization: lower-case keys, values as text tuples."""


@dataclass(frozen=True, slots=True)
class CompiledCondition:
    operator: Operator
    key: str
    templates: tuple[Template, ...]
    static: tuple[Comparator, ...] | None
    """Comparators built at compile time; None when a value holds a variable."""

    def holds(self, context: Context) -> bool:
        """Whether this entry holds for the request context."""
        values = context.get(self.key) or ()
        op = self.operator
        if op.family is Family.NULL:
            return self._null(bool(values), context)
        if not values:
            if op.if_exists or op.qualifier == "ForAllValues":
                return True
            if op.qualifier == "ForAnyValue":
                return False
            return op.negated
        comparators = self.static if self.static is not None else self._bind(context)
        if comparators is None:
            return False
        results = (_matches(comparators, op.negated, value) for value in values)
        return all(results) if op.qualifier == "ForAllValues" else any(results)

    def _null(self, present: bool, context: Context) -> bool:
        for value in self.templates:
            text = value.render_text(context)
            if text is not None and (text.strip().lower() == "true") != present:
                return True
        return False

    def _bind(self, context: Context) -> tuple[Comparator, ...] | None:
        bound: list[Comparator] = []
        for value in self.templates:
            pieces = value.render(context)
            if pieces is None:
                return None
            try:
                bound.append(comparator(self.operator, pieces))
            except ValueError:
                return None  # a variable resolved to a value of the wrong type
        return tuple(bound)


def _matches(comparators: tuple[Comparator, ...], negated: bool, value: str) -> bool:
    results = [compare(value) for compare in comparators]
    if None in results:
        return False  # the request value has the wrong type for the operator
    return any(results) != negated


def compile_condition(entry: ConditionEntry) -> CompiledCondition:
    """Build comparators now unless a value needs the request's variables."""
    static: tuple[Comparator, ...] | None = None
    if entry.operator.family is not Family.NULL and not any(t.has_variables for t in entry.values):
        static = tuple(comparator(entry.operator, t.render({}) or ()) for t in entry.values)
    return CompiledCondition(entry.operator, entry.key.lower(), entry.values, static)
