"""The local runtime's heartbeat timeout can be loosened for a machine too busy to answer in 1.5 s."""

from __future__ import annotations

from vivid_desktop.runtime_client.launch import HEARTBEAT_ENV, LaunchSpec


def test_heartbeat_timeout_from_the_environment(monkeypatch):
    monkeypatch.delenv(HEARTBEAT_ENV, raising=False)
    assert LaunchSpec().heartbeat_timeout == 1.5
    monkeypatch.setenv(HEARTBEAT_ENV, "20")
    assert LaunchSpec().heartbeat_timeout == 20.0
    for bad in ("soon", "-3", "0"):
        monkeypatch.setenv(HEARTBEAT_ENV, bad)
        assert LaunchSpec().heartbeat_timeout == 1.5
