"""The secret scanner against a corpus: each kind found where it is, and the lines that
look like secrets but are not (placeholders, examples, low entropy) left alone."""

from __future__ import annotations

import pytest

from gitserver.protection.inspect import Scan, _DiffParser, _feed_block
from gitserver.protection.scanner import KINDS, entropy, mask, may_hold_secret, scan_line

# Made-up values with the shape of real credentials (none of them was ever issued).
TRUE_POSITIVES = [
    pytest.param('aws_key = "AKIAZ7Q3VJX4N2LKP5RT"', "aws_access_key_id", id="aws-key-id"),
    pytest.param("export AWS_ACCESS_KEY_ID=ASIAQ4R7T2W9Y3U8P5LM", "aws_access_key_id", id="sts"),
    pytest.param(
        "aws_secret_access_key = kF9z2Qp7Lx3vB8nW1mRt6YcJ0hD4sGe5aUoVqZiN",
        "aws_secret_access_key",
        id="aws-secret",
    ),
    pytest.param(
        '"SecretAccessKey": "kF9z2Qp7Lx3vB8nW1mRt6YcJ0hD4sGe5aUo/qZiN"',
        "aws_secret_access_key",
        id="aws-secret-json",
    ),
    pytest.param("-----BEGIN RSA PRIVATE KEY-----", "private_key", id="pem-rsa"),
    pytest.param("-----BEGIN OPENSSH PRIVATE KEY-----", "private_key", id="pem-openssh"),
    pytest.param("-----BEGIN PRIVATE KEY-----", "private_key", id="pem-pkcs8"),
    pytest.param("-----BEGIN PGP PRIVATE KEY BLOCK-----", "private_key", id="pgp"),
    pytest.param(
        "GITHUB_TOKEN: ghp_aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5", "github_token", id="ghp"
    ),
    pytest.param("gho_aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5", "github_token", id="gho"),
    pytest.param(
        "github_pat_11ABCDEFG0aB3dE5gH7jK9_mN1pQ3sT5vW7yZ9bC1dE3fG5hJ7kL9mN1pQ3sT5vW7yZ9bC1dE3fG5hJ",
        "github_token",
        id="github-pat",
    ),
    pytest.param('token = "glpat-Ab3De5Gh7Jk9Mn1Pq3St"', "gitlab_token", id="glpat"),
    pytest.param("SLACK=xoxb-2718281828-3141592653-aB3dE5gH7jK9mN1p", "slack_token", id="xoxb"),
    pytest.param("xoxp-2718281828-3141592653-aB3dE5gH7jK9", "slack_token", id="xoxp"),
    pytest.param(
        "url: https://hooks.slack.com/services/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",
        "slack_webhook",
        id="slack-webhook",
    ),
    pytest.param('password = "k7#Qz9!vLp2@Xw4m"', "generic_secret", id="password"),
    pytest.param("db_password: 'Rt8#wq2LmZ4!pX9v'", "generic_secret", id="yaml-password"),
    pytest.param('API_KEY="9f8Kd2Lq7Zx4Vb1Nm6"', "generic_secret", id="api-key"),
    pytest.param('client_secret := "Qw7Er9Ty2Ui4Op6As8"', "generic_secret", id="go-assign"),
]

FALSE_POSITIVES = [
    pytest.param("AKIAIOSFODNN7EXAMPLE", id="aws-documented-example"),
    pytest.param(
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", id="aws-doc-secret"
    ),
    pytest.param("AKIA1234", id="too-short"),
    pytest.param("id = AKIAZ7Q3VJX4N2LKP5RTXYZ", id="key-id-inside-a-longer-word"),
    pytest.param('password = "changeme"', id="changeme"),
    pytest.param('password = "${DB_PASSWORD}"', id="env-template"),
    pytest.param('token = "{{ vault_token }}"', id="jinja"),
    pytest.param('api_key = "<your-api-key-here>"', id="angle-placeholder"),
    pytest.param('secret = "xxxxxxxxxxxxxxxx"', id="xxxx"),
    pytest.param('password = "correcthorsebatterystaple"', id="low-entropy-words"),
    pytest.param('password = "example-Password-1"', id="example"),
    pytest.param("password = os.environ['DB_PASSWORD']", id="unquoted-lookup"),
    pytest.param('token = "short1!"', id="short-value"),
    pytest.param("https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"),
    pytest.param("-----BEGIN PUBLIC KEY-----", id="public-key"),
    pytest.param("-----BEGIN CERTIFICATE-----", id="certificate"),
    pytest.param("commit 3f786850e387550fdab836ed7e6dc881de23001b", id="sha1"),
    pytest.param("ghp_short", id="github-prefix-only"),
    pytest.param('secret_name = "prod/database/credentials"', id="a-path"),
]


@pytest.mark.parametrize(("line", "kind"), TRUE_POSITIVES)
def test_each_kind_is_found(line: str, kind: str) -> None:
    found = scan_line(line)
    assert [m.kind for m in found] == [kind]


@pytest.mark.parametrize("line", FALSE_POSITIVES)
def test_lookalikes_are_not_reported(line: str) -> None:
    assert scan_line(line) == []


def test_every_kind_has_a_true_positive() -> None:
    covered = {param.values[1] for param in TRUE_POSITIVES}
    assert covered == set(KINDS)


def test_a_finding_never_shows_the_secret() -> None:
    secret = "ghp_aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5"
    (match,) = scan_line(f"token = '{secret}'")
    assert match.masked == "ghp_********"
    assert mask("https://hooks.slack.com/services/T/B/C") == "https://hooks.slack.com/********"
    assert mask("-----BEGIN RSA PRIVATE KEY-----") == "-----BEGIN RSA PRIVATE KEY-----"


def test_entropy() -> None:
    assert entropy("") == 0.0
    assert entropy("aaaa") == 0.0
    assert entropy("abcd") == 2.0


def test_diff_parser_reports_added_lines_with_their_numbers() -> None:
    diff = [
        b"\x00" + b"a" * 40,
        b"",
        b"diff --git a/conf.py b/conf.py",
        b"--- a/conf.py",
        b"+++ b/conf.py",
        b"@@ -3,0 +4,2 @@",
        b"+harmless = 1",
        b"+key = 'AKIAZ7Q3VJX4N2LKP5RT'",
        b"@@ -9 +10 @@",
        b"-old = 'AKIAZ7Q3VJX4N2LKP5RU'",
        b"+++ key2 = 'ghp_aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE3fG5'",
        b"diff --git a/gone.py b/gone.py",
        b"--- a/gone.py",
        b"+++ /dev/null",
        b"@@ -1 +0,0 @@",
        b"-AKIAZ7Q3VJX4N2LKP5RT",
        b"\x00" + b"b" * 40,
        b"diff --cc merged.txt",
        b"--- a/merged.txt",
        b"+++ b/merged.txt",
        b"@@@ -1,1 -1,1 +1,2 @@@",
        b" +from one side AKIAZ7Q3VJX4N2LKP5RT",
        b"++resolution glpat-Ab3De5Gh7Jk9Mn1Pq3St",
    ]
    scan = Scan()
    parser = _DiffParser(scan)
    for line in diff:
        parser.feed(line)
    found = [(f.kind, f.path, f.line, f.commit[0]) for f in scan.findings]
    assert found == [
        ("aws_access_key_id", "conf.py", 5, "a"),
        ("github_token", "conf.py", 10, "a"),
        ("gitlab_token", "merged.txt", 2, "b"),
    ]


@pytest.mark.parametrize(("line", "kind"), TRUE_POSITIVES)
def test_the_prefilter_passes_every_kind(line: str, kind: str) -> None:
    # A line the prefilter drops is never scanned: it must pass every true positive,
    # in any case the patterns accept.
    assert may_hold_secret(line.encode())
    assert may_hold_secret(line.upper().encode()) or not scan_line(line.upper())


def _diff_with_secrets() -> list[bytes]:
    """Three commits over several files; secrets in added, removed and merged lines."""
    lines: list[bytes] = []
    for commit, name in ((b"a", b"one.py"), (b"b", b"two.py"), (b"c", b"three.py")):
        lines += [b"\x00" + commit * 40, b""]
        for number in range(3):
            path = b"%d-%s" % (number, name)
            lines += [
                b"diff --git a/" + path + b" b/" + path,
                b"--- a/" + path,
                b"+++ b/" + path,
                b"@@ -1,2 +1,3 @@",
                b"-api_key = 'AKIAZ7Q3VJX4N2LKP5RU'",
                b"+plain text without anything",
                b"+key = 'AKIAZ7Q3VJX4N2LKP5RT'" if number == 1 else b"+x = 1",
                b"+more plain text",
            ]
        lines += [b"diff --git a/empty b/empty", b"new file mode 100644"]
    return lines


@pytest.mark.parametrize("cut", [1, 7, 30, 64, 200, 10_000])
def test_blocks_find_what_lines_find(cut: int) -> None:
    # The block reader (skipping file diffs without a trigger) reports exactly what the
    # line-by-line parser does, wherever the stream is cut into blocks.
    lines = _diff_with_secrets()
    expected = Scan()
    parser = _DiffParser(expected)
    for line in lines:
        parser.feed(line)
    data = b"\n".join(lines)
    scan = Scan()
    parser = _DiffParser(scan)
    pending = b""
    for start in range(0, len(data), cut):
        pending += data[start : start + cut]
        at, whole = pending.rfind(b"\ndiff "), True
        if at < 0 and len(pending) > 100:
            at, whole = pending.rfind(b"\n"), False  # as _blocks does past its bound
        if at >= 0:
            _feed_block(parser, pending[:at], whole)
            pending = pending[at + 1 :]
    _feed_block(parser, pending, True)
    assert [(f.kind, f.path, f.line, f.commit) for f in scan.findings] == [
        (f.kind, f.path, f.line, f.commit) for f in expected.findings
    ]
    assert [(f.path, f.commit[0]) for f in scan.findings] == [
        ("1-one.py", "a"),
        ("1-two.py", "b"),
        ("1-three.py", "c"),
    ]
