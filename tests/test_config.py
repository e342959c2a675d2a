"""Credentials, base URL and rate card resolution (config.py)."""

from __future__ import annotations

import pytest

from recording_toolkit.config import (
    DEFAULT_BASE_URL,
    RateCard,
    resolve_base_url,
    resolve_credentials,
    resolve_data_dir,
)
from recording_toolkit.errors import ConfigurationError


def test_credentials_from_arguments_win_over_environment(auth_id, auth_token, env):
    other = "SA" + "B" * 18
    creds = resolve_credentials(other, "arg-token", environ=env)
    assert creds.auth_id == other
    assert creds.auth_token == "arg-token"


def test_credentials_fall_back_to_environment(env, auth_id, auth_token):
    creds = resolve_credentials(environ=env)
    assert (creds.auth_id, creds.auth_token) == (auth_id, auth_token)


def test_token_never_in_repr_or_str(env, auth_token):
    creds = resolve_credentials(environ=env)
    assert auth_token not in repr(creds)
    assert auth_token not in str(creds)
    assert "***" in repr(creds)


@pytest.mark.parametrize("bad", ["", "MA123", "XX" + "A" * 18, "ma" + "a" * 18, "MA" + "A" * 19])
def test_malformed_auth_id_is_named(bad):
    with pytest.raises(ConfigurationError, match="auth_id"):
        resolve_credentials(bad or None, "token", environ={})


def test_missing_token_names_the_variable(auth_id):
    with pytest.raises(ConfigurationError, match="PLIVO_AUTH_TOKEN"):
        resolve_credentials(auth_id, environ={})


def test_malformed_auth_id_error_does_not_leak_token():
    with pytest.raises(ConfigurationError) as info:
        resolve_credentials("bad", "supersecret", environ={})
    assert "supersecret" not in str(info.value)


def test_a_python_caller_is_told_the_parameter_to_pass():
    with pytest.raises(ConfigurationError) as info:
        resolve_credentials(environ={"PLIVO_AUTH_TOKEN": "supersecret"})
    assert str(info.value) == ("auth_id: missing; pass auth_id=... or set the PLIVO_AUTH_ID"
                               " environment variable")
    with pytest.raises(ConfigurationError) as info:
        resolve_credentials("MA" + "A" * 18, environ={})
    assert str(info.value) == ("auth_token: missing; pass auth_token=... or set the"
                               " PLIVO_AUTH_TOKEN environment variable")


def test_a_command_line_is_told_the_flag_or_only_the_variable():
    flags = {"auth_id": "--auth-id"}
    with pytest.raises(ConfigurationError) as info:
        resolve_credentials(environ={"PLIVO_AUTH_TOKEN": "supersecret"}, flags=flags)
    assert str(info.value) == "--auth-id: missing; pass --auth-id or set PLIVO_AUTH_ID"
    with pytest.raises(ConfigurationError) as info:
        resolve_credentials("MA" + "A" * 18, environ={}, flags=flags)
    assert str(info.value).startswith("PLIVO_AUTH_TOKEN: missing; set PLIVO_AUTH_TOKEN (")
    assert "auth_token" not in str(info.value) and "--auth-token" not in str(info.value)


@pytest.mark.parametrize(("given", "environ", "named"), [
    ("MA123", {}, "--auth-id: 'MA123'"),
    (None, {"PLIVO_AUTH_ID": "MA123"}, "PLIVO_AUTH_ID: 'MA123'"),
])
def test_a_command_line_hears_where_a_malformed_auth_id_came_from(given, environ, named):
    with pytest.raises(ConfigurationError) as info:
        resolve_credentials(given, environ={**environ, "PLIVO_AUTH_TOKEN": "supersecret"},
                            flags={"auth_id": "--auth-id"})
    assert str(info.value).startswith(f"{named} is not a Plivo auth id")
    assert "supersecret" not in str(info.value)


def test_base_url_order_and_trailing_slash():
    assert resolve_base_url(environ={}) == DEFAULT_BASE_URL
    assert resolve_base_url(environ={"PLIVO_API_BASE_URL": "http://127.0.0.1:9/"}) == (
        "http://127.0.0.1:9"
    )
    assert resolve_base_url("http://x.test/", environ={"PLIVO_API_BASE_URL": "http://y"}) == (
        "http://x.test"
    )
    with pytest.raises(ConfigurationError, match="base_url"):
        resolve_base_url("ftp://nope", environ={})


def test_data_dir(tmp_path):
    assert resolve_data_dir(tmp_path, environ={}) == tmp_path
    assert str(resolve_data_dir(environ={"RECORDING_TOOLKIT_DATA_DIR": "/d"})) == "/d"


def test_rate_card_sources_in_order(tmp_path):
    toml = tmp_path / "rates.toml"
    toml.write_text('[rates]\ntranscription_per_minute = 0.04\nfree_storage_days = 30\n')
    card = RateCard.resolve(
        path=toml,
        environ={"RECORDING_TOOLKIT_RATE_FREE_STORAGE_DAYS": "60"},
        storage_per_minute_month=0.001,
    )
    assert card.transcription_per_minute == 0.04   # from the file
    assert card.free_storage_days == 60            # the environment beats the file
    assert card.storage_per_minute_month == 0.001  # explicit beats both
    assert RateCard.resolve(environ={}) == RateCard()


def test_rate_card_rejects_unknown_keys_and_bad_values(tmp_path):
    with pytest.raises(ConfigurationError, match="unknown key"):
        RateCard.from_mapping({"transcription_price": 1})
    with pytest.raises(ConfigurationError, match="transcription_per_minute"):
        RateCard(transcription_per_minute=-1)
    with pytest.raises(ConfigurationError, match="RECORDING|environment"):
        RateCard.from_env({"RECORDING_TOOLKIT_RATE_TRANSCRIPTION_PER_MINUTE": "cheap"})
    bad = tmp_path / "bad.toml"
    bad.write_text("transcription_per_minute = [")
    with pytest.raises(ConfigurationError, match="bad.toml"):
        RateCard.from_toml(bad)
    with pytest.raises(ConfigurationError, match="does not exist"):
        RateCard.from_toml(tmp_path / "missing.toml")


@pytest.mark.parametrize(("text", "says"), [
    ("currency = 5", "currency: 5 is not a 3-letter currency code such as USD"),
    ('currency = "EURO"', "currency: 'EURO' is not a 3-letter currency code"),
    ("free_storage_days = 1.5", "free_storage_days: 1.5 is not a whole number of days >= 0"),
    ("free_storage_days = -1", "free_storage_days: -1 is not a whole number of days >= 0"),
    ("transcription_per_minute = -0.01", "transcription_per_minute: -0.01 is not a price >= 0"),
    ('transcription_per_minute = "0.05"', "transcription_per_minute: '0.05' is not a price"),
    ("storage_per_minute_month = true", "storage_per_minute_month: True is not a price >= 0"),
    ("storage_per_minute_month = nan", "storage_per_minute_month: nan is not a price >= 0"),
    ("[rates]\ncurrency = 5", "currency: 5 is not a 3-letter currency code"),
    ("rates = 5", "expected a table of rates"),
])
def test_a_rate_file_of_the_wrong_types_is_refused_naming_file_key_and_expectation(
        tmp_path, text, says):
    card = tmp_path / "rates.toml"
    card.write_text(text + "\n")
    with pytest.raises(ConfigurationError) as caught:
        RateCard.from_toml(card)
    assert str(caught.value).startswith(f"rate card {card}: {says}")


def test_rate_card_values_from_the_environment_and_flags_are_named_by_their_source():
    with pytest.raises(ConfigurationError, match=r"^RECORDING_TOOLKIT_RATE_CURRENCY: '5' is not"
                                                 " a 3-letter currency code"):
        RateCard.from_env({"RECORDING_TOOLKIT_RATE_CURRENCY": "5"})
    with pytest.raises(ConfigurationError, match=r"^RECORDING_TOOLKIT_RATE_FREE_STORAGE_DAYS:"
                                                 " '1.5' is not a whole number"):
        RateCard.from_env({"RECORDING_TOOLKIT_RATE_FREE_STORAGE_DAYS": "1.5"})
    with pytest.raises(ConfigurationError, match=r"^RECORDING_TOOLKIT_RATE_CHEAP: not a rate"):
        RateCard.from_env({"RECORDING_TOOLKIT_RATE_CHEAP": "1"})
    with pytest.raises(ConfigurationError, match=r"^--currency: 'dollars' is not a 3-letter"):
        RateCard.resolve(environ={}, currency="dollars", flags={"currency": "--currency"})
    with pytest.raises(ConfigurationError, match=r"^rate card transcription_per_minute: inf"):
        RateCard(transcription_per_minute=float("inf"))
    # numbers as text are fine in the environment, where everything is text
    card = RateCard.from_env({"RECORDING_TOOLKIT_RATE_FREE_STORAGE_DAYS": " 30",
                              "RECORDING_TOOLKIT_RATE_CURRENCY": "eur"})
    assert (card.free_storage_days, card.currency) == (30, "EUR")


def test_a_rate_file_that_cannot_be_read_as_toml_is_one_error(tmp_path):
    with pytest.raises(ConfigurationError, match="is a folder, not a file"):
        RateCard.from_toml(tmp_path)
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes(b'currency = "\xe9"\n')
    with pytest.raises(ConfigurationError, match="latin1.toml.*not UTF-8"):
        RateCard.from_toml(latin1)
