"""Settings from the environment: defaults, and a clear error for a value that cannot work."""

from __future__ import annotations

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
