from __future__ import annotations

from pathlib import Path

import pytest

from gitserver.config import ConfigError, load_settings


def test_defaults_match_the_contract(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings({}, env={})
    assert settings.http == "127.0.0.1:8080"
    assert settings.ssh == "127.0.0.1:2222"
    assert settings.region == "us-east-1"
    assert settings.account_id == "000000000000"
    assert settings.data == Path("data")
    assert settings.effective_database_url.startswith("sqlite+aiosqlite:///")
    assert settings.public_base_url == "http://127.0.0.1:8080"


def test_precedence_flag_over_env_over_file(tmp_path: Path) -> None:
    config = tmp_path / "gitserver.toml"
    config.write_text('region = "eu-west-1"\naccount_id = "111111111111"\nlog_level = "DEBUG"\n')
    env = {"GITSERVER_CONFIG": str(config), "GITSERVER_REGION": "us-west-2"}
    settings = load_settings({"region": "ap-south-1"}, env=env)
    assert settings.region == "ap-south-1"
    assert load_settings({}, env=env).region == "us-west-2"
    assert load_settings({}, env=env).account_id == "111111111111"
    assert load_settings({}, env=env).sources["account_id"] == str(config)


def test_toml_in_data_dir_and_gitserver_table(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "gitserver.toml").write_text('[gitserver]\nbase_url = "https://git.example/"\n')
    settings = load_settings({"data": str(data)}, env={})
    assert settings.public_base_url == "https://git.example"


@pytest.mark.parametrize(
    ("flags", "env", "message"),
    [
        pytest.param({"http": "nope"}, {}, "HOST:PORT", id="bad-address"),
        pytest.param({}, {"GITSERVER_ACCOUNT_ID": "12"}, "12 digits", id="bad-account"),
        pytest.param({}, {"GITSERVER_GIT_TIMEOUT": "soon"}, "git_timeout", id="bad-number"),
        pytest.param({"tls_cert": "c.pem"}, {}, "go together", id="cert-without-key"),
        pytest.param({}, {"GITSERVER_MAINTENANCE": "maybe"}, "boolean", id="bad-bool"),
        pytest.param({"pack_cache_max_bytes": "-1"}, {}, "negative", id="negative-cache"),
    ],
)
def test_bad_values_are_refused(
    flags: dict[str, str],
    env: dict[str, str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=message):
        load_settings(flags, env=env)


def test_unknown_toml_key_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "gitserver.toml"
    config.write_text('regoin = "x"\n')
    with pytest.raises(ConfigError, match="unknown setting"):
        load_settings({}, env={"GITSERVER_CONFIG": str(config)})


def test_tls_changes_the_scheme_of_clone_urls(tmp_path: Path) -> None:
    settings = load_settings({"tls_cert": "c", "tls_key": "k", "http": "0.0.0.0:8443"}, env={})
    assert settings.public_base_url == "https://0.0.0.0:8443"


def test_boolean_flags_parse_as_written() -> None:
    from gitserver.cli.main import build_parser

    args = vars(build_parser().parse_args(["serve", "--no-ssh", "--no-maintenance"]))
    assert args["no_ssh"] is True and args["maintenance"] is False
    assert "no_ssh" not in vars(build_parser().parse_args(["serve"]))


@pytest.mark.parametrize(
    ("flags", "on"),
    [
        pytest.param({}, True, id="default"),
        pytest.param({"pack_cache_max_bytes": "0"}, False, id="no-bytes"),
        pytest.param({"pack_cache_max_age": "0"}, False, id="no-age"),
    ],
)
def test_the_pack_cache_is_off_when_either_limit_is_0(
    flags: dict[str, str], on: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_settings(flags, env={}).pack_cache is on
