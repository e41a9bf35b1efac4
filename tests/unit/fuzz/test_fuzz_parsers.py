"""Property-based fuzzing of every parser that reads what a client sends (issue 14 §1.4).

Each target (tests/unit/fuzz/targets.py) gets arbitrary and near-valid input (valid
examples with a few edits) and must answer with its result or its own domain error,
never IndexError, KeyError, UnicodeError, RecursionError or ValueError; where a writer
exists, what it writes reads back. Every defect the fuzzing found is kept below as an
explicit @example, so it stays fixed whatever the random draw.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import example, given, settings

from auth.sigv4 import git_signature
from tests.unit.fuzz.credentials import NOW, SECRET
from tests.unit.fuzz.mutations import deep
from tests.unit.fuzz.targets import BY_NAME, CI_PROFILE

STAMP = NOW.strftime("%Y%m%dT%H%M%S")
SIGNATURE = git_signature(SECRET, STAMP, "/v1/repos/r", "h", "us-east-1")


def _fuzz(name: str, *examples: Any) -> Callable[..., None]:
    target = BY_NAME[name]
    test: Callable[..., None] = given(target.strategy)(target.check)
    for value in examples:
        test = example(value)(test)
    return settings(settings.get_profile(CI_PROFILE))(test)


test_pkt_line_push_commands = _fuzz(
    "pkt-line push commands",
    # int(header, 16) took "+01a", " 01a", "0x1a" and "1_0a": a command list git refuses.
    b"0x4a" + b"a" * 40 + b" " + b"b" * 40 + b" refs/heads/m" + b"0000",
    b"+04c" + b"a" * 40 + b" " + b"b" * 40 + b" refs/heads/main\n0000",
)
test_push_commands_round_trip = _fuzz("push commands round trip")
test_ng_line = _fuzz(
    "ng line",
    # A ref as long as a command pkt-line allows, with a reason (the ambiguous-name one
    # quotes the ref) overflowed the `ng` line: pkt() raised ValueError refusing the push.
    ("refs/heads/" + "r" * 65_423, "x" * 400),
)
test_report_status_splicer = _fuzz("report-status splicer")
test_splicer_on_garbage = _fuzz("splicer on garbage")
test_sigv4_authorization = _fuzz(
    "sigv4 authorization",
    # \d took other scripts' digits as the scope date; a region with such bytes failed
    # to sign.
    "AWS4-HMAC-SHA256 Credential=AKIA/\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668"
    f"/us-east-1/codecommit/aws4_request, SignedHeaders=host, Signature={'0' * 64}",
    "AWS4-HMAC-SHA256 Credential=AKIA/20260504/\udcff/codecommit/aws4_request, "
    f"SignedHeaders=host, Signature={'0' * 64}",
)
test_sigv4_authorization_round_trip = _fuzz("sigv4 authorization round trip")
test_sigv4_freshness = _fuzz("sigv4 freshness")
test_sigv4_canonical_request = _fuzz(
    "sigv4 canonical request",
    # aiohttp surrogate-escapes header and path bytes that are not UTF-8: signing them
    # raised UnicodeEncodeError (a 500 for any holder of a valid access key id).
    ("POST", "/\udcff", [("a", "\udcff")], {"host": ["h\udcff"]}, ["host"], ""),
    ("POST", "/", [], {"host": ["\ud800"]}, ["host"], ""),
)
test_sigv4_git_password = _fuzz(
    "sigv4 git password",
    # The same for a Git password checked against a Host header with such bytes.
    (f"{STAMP}Z{SIGNATURE}", ["/v1/repos/r"], ["h\udcff"], ["us-east-1"]),
)
test_http_basic = _fuzz("http basic")
test_http_basic_round_trip = _fuzz("http basic round trip")
test_iam_policy_text = _fuzz("iam policy text")
test_iam_policy_object = _fuzz("iam policy object")
test_repository_names = _fuzz("repository names")
test_branch_names = _fuzz("branch names", "\ud800")  # accepted, then unusable by git
test_subscription_ref_globs = _fuzz("subscription ref globs")
test_pipeline_trigger_globs = _fuzz(
    "pipeline trigger globs",
    # Brace expansions past wcmatch's limit passed validation, then every push the
    # pipeline was asked about raised PatternLimitException.
    (["{a,b}" * 11], ["x"], "main"),
    (["{1..100000}"], ["x"], "main"),
    (["{a,b}" * 5] * 8, ["x"], "main"),
)
test_buildspec = _fuzz(
    "buildspec",
    # Deep nesting: RecursionError from PyYAML's composer; and its scanner's time grew
    # with the square of the depth (3,000 levels: 30 s) until libyaml read them.
    "version: 0.2\nphases: " + deep(1001),
    "version: 0.2\nphases: " + deep(100_000),
    "\ud800",  # libyaml reads UTF-8: a lone surrogate raised UnicodeEncodeError
)
test_pipeline_definitions = _fuzz(
    "pipeline definitions",
    ('{"pipeline": ' + deep(1001) + "}", "p.json"),  # RecursionError from json.loads
    ('{"pipeline": ' + deep(3000) + "}", "p.yml"),  # RecursionError, and 30 s of scanning
    ("stages: \ud800", "p.yml"),
)
