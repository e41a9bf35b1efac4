"""Every fuzz target: a name, the strategy that makes its input, the property it checks.

`tests/unit/fuzz/test_fuzz_parsers.py` runs each under the `fuzz-ci` hypothesis profile
(the whole module in ~30 s); `benchmarks/fuzz.py` (`BENCH=fuzz scripts/bench`) runs the
same targets under `fuzz-long`, or for a time budget each, and counts the examples.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from tests.unit.fuzz import credentials, documents, policies, wire

CI_PROFILE = "fuzz-ci"
LONG_PROFILE = "fuzz-long"
_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
# No example database: a run is reproducible from its seed, and leaves no files behind;
# every defect found is kept as an explicit @example in the test module.
settings.register_profile(
    CI_PROFILE, max_examples=60, deadline=None, database=None, suppress_health_check=_QUIET
)
settings.register_profile(
    LONG_PROFILE, max_examples=20_000, deadline=None, database=None, suppress_health_check=_QUIET
)


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    strategy: st.SearchStrategy[Any]
    check: Callable[[Any], None]


TARGETS = (
    Target("pkt-line push commands", wire.push_bodies(), wire.check_push_request),
    Target(
        "push commands round trip",
        st.tuples(wire.commands, wire.capabilities, st.integers(0, 2)),
        wire.check_push_round_trip,
    ),
    Target(
        "ng line",
        st.tuples(wire.long_refs | wire.surrogate_escaped, wire.surrogate_escaped),
        wire.check_ng_line,
    ),
    Target("report-status splicer", wire.git_reports(), wire.check_report_splicer),
    Target("splicer on garbage", wire.garbled_reports(), wire.check_splicer_garbage),
    Target(
        "sigv4 authorization",
        credentials.authorization_headers(),
        credentials.check_authorization,
    ),
    Target(
        "sigv4 authorization round trip",
        credentials.parts,
        credentials.check_authorization_round_trip,
    ),
    Target(
        "sigv4 freshness",
        st.tuples(credentials.amz_dates, st.sampled_from(["20260504", "20260503"])),
        credentials.check_freshness_property,
    ),
    Target("sigv4 canonical request", credentials.requests, credentials.check_canonical_request),
    Target("sigv4 git password", credentials.git_passwords(), credentials.check_git_password),
    Target("http basic", credentials.basic_headers(), credentials.check_basic),
    Target("http basic round trip", credentials.basic_pairs, credentials.check_basic_round_trip),
    Target("iam policy text", policies.policy_cases, policies.check_policy),
    Target("iam policy object", policies.policy_objects, policies.check_policy_object),
    Target("repository names", documents.names, documents.check_repository_name),
    Target("branch names", documents.branch_names, documents.check_branch_name),
    Target(
        "subscription ref globs",
        st.tuples(st.lists(documents.globs), documents.ref_names),
        documents.check_ref_matches,
    ),
    Target(
        "pipeline trigger globs",
        st.tuples(documents.patterns, documents.patterns, documents.branch_names),
        documents.check_trigger_globs,
    ),
    Target("buildspec", documents.buildspec_texts(), documents.check_buildspec),
    Target("pipeline definitions", documents.pipeline_texts(), documents.check_pipeline),
)
BY_NAME = {target.name: target for target in TARGETS}
