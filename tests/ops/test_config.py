"""Settings from the environment: defaults, and a clear error for a value that cannot work."""

from __future__ import annotations

import re

import pytest

from helpdesk.config import Config, ConfigError


def from_env(tmp_path, **values: str) -> Config:
    return Config.from_env({"HELPDESK_INSTANCE": str(tmp_path), "SECRET_KEY": "k"} | values)


def test_poll_batches_default_to_200_messages_and_32_mib(tmp_path):
    config = from_env(tmp_path)
    assert (config.mailbox_poll_batch, config.mailbox_poll_batch_bytes) == (200, 32 * 1024**2)


def test_poll_batches_are_read_from_the_environment(tmp_path):
    config = from_env(tmp_path, MAILBOX_POLL_BATCH="50", MAILBOX_POLL_BATCH_BYTES="1048576")
    assert (config.mailbox_poll_batch, config.mailbox_poll_batch_bytes) == (50, 1048576)


def test_a_setting_that_is_not_a_number_is_refused_by_name(tmp_path):
    with pytest.raises(ConfigError, match="MAILBOX_POLL_BATCH_BYTES must be a whole number"):
        from_env(tmp_path, MAILBOX_POLL_BATCH_BYTES="32MB")


@pytest.mark.parametrize(
    "name", ["MAILBOX_POLL_BATCH", "MAILBOX_POLL_BATCH_BYTES", "CAMPAIGN_BATCH_SIZE"]
)
def test_a_batch_size_below_one_is_refused_by_name(tmp_path, name):
    with pytest.raises(ConfigError, match=f"{name} must be at least 1, got 0"):
        from_env(tmp_path, **{name: "0"})


def test_the_mail_domain_defaults_to_the_public_url_host_as_a_domain_literal(tmp_path):
    config = from_env(tmp_path)
    assert (config.mail_domain, config.effective_mail_domain) == (None, "[127.0.0.1]")


def test_the_mail_domain_defaults_to_the_public_url_host_name(tmp_path):
    config = from_env(tmp_path, PUBLIC_URL="https://Help.Example.com:8443/")
    assert config.effective_mail_domain == "help.example.com"


def test_the_mail_domain_is_read_from_the_environment(tmp_path):
    config = from_env(tmp_path, PUBLIC_URL="http://127.0.0.1:5000", MAIL_DOMAIN="Mail.Example.com")
    assert (config.mail_domain, config.effective_mail_domain) == (
        "mail.example.com",
        "mail.example.com",
    )


def test_a_domain_literal_is_accepted_as_mail_domain(tmp_path):
    config = from_env(tmp_path, MAIL_DOMAIN="[IPv6:2001:db8::1]")
    assert config.effective_mail_domain == "[IPv6:2001:db8::1]"


@pytest.mark.parametrize(
    "value", ["192.0.2.1", "mail.example.com.", "support@example.com", "[1.2.3]", "a_b.example"]
)
def test_a_bad_mail_domain_is_refused_by_name(tmp_path, value):
    expected = f"MAIL_DOMAIN must be a domain name or a domain literal, got {value!r}: "
    with pytest.raises(ConfigError, match=re.escape(expected)):
        from_env(tmp_path, MAIL_DOMAIN=value)


def test_a_public_url_host_that_makes_no_mail_domain_asks_for_mail_domain(tmp_path):
    with pytest.raises(
        ConfigError, match="PUBLIC_URL's host cannot be the mail domain.*MAIL_DOMAIN"
    ):
        from_env(tmp_path, PUBLIC_URL="https://bücher-.example")


def test_the_public_url_defaults_to_the_address_the_web_server_listens_on(tmp_path):
    assert from_env(tmp_path).public_url == "http://127.0.0.1:5000"
    assert from_env(tmp_path, PORT="8080").public_url == "http://127.0.0.1:8080"
    assert from_env(tmp_path, HOST="10.0.0.5", PORT="80").public_url == "http://10.0.0.5:80"


def test_a_wildcard_host_gives_a_loopback_public_url(tmp_path):
    assert from_env(tmp_path, HOST="0.0.0.0", PORT="8000").public_url == "http://127.0.0.1:8000"
    assert from_env(tmp_path, HOST="::", PORT="8000").public_url == "http://[::1]:8000"


def test_a_set_public_url_wins_over_host_and_port(tmp_path):
    config = from_env(tmp_path, PORT="8080", PUBLIC_URL="https://help.example.com/")
    assert config.public_url == "https://help.example.com"
