"""The client and its supervisor against runtimes that crash, hang, lie and babble (tests/runtime/fakes)."""

from __future__ import annotations

import re
import threading
import time

import pytest
from runtime_specs import fake_spec, real_spec

from vivid_desktop.protocol.jobs import RenderPlan
from vivid_desktop.protocol.version import PROTOCOL_VERSION
from vivid_desktop.runtime_client import (
    NotReady,
    ProtocolMismatch,
    RuntimeClient,
    RuntimeClientError,
    RuntimeStartError,
    RuntimeState,
    Supervisor,
)


class StateLog:
    """Records state changes from any thread; waits for one."""

    def __init__(self) -> None:
        self.states: list[tuple[RuntimeState, str]] = []
        self._cond = threading.Condition()

    def __call__(self, state: RuntimeState, detail: str) -> None:
        with self._cond:
            self.states.append((state, detail))
            self._cond.notify_all()

    def wait_for(self, state: RuntimeState, timeout: float = 10.0) -> float:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not any(s == state for s, _ in self.states):
                left = deadline - time.monotonic()
                assert left > 0, f"never reached {state}: {self.states}"
                self._cond.wait(left)
        return time.monotonic()

    def names(self) -> list[str]:
        return [s.value for s, _ in self.states]


def a_plan(tmp_path, **settings) -> RenderPlan:
    (tmp_path / "clip.mp4").write_bytes(b"x")
    (tmp_path / "mask.png").write_bytes(b"x")
    return RenderPlan(
        source=str(tmp_path / "clip.mp4"),
        start=0,
        stop=8,
        mask=str(tmp_path / "mask.png"),
        task="delete",
        engine="testing",
        settings=settings,
        output_dir=str(tmp_path / "out"),
    )


def test_crash_on_start_is_reported_with_its_reason():
    client = RuntimeClient(fake_spec("crash_on_start"))
    with pytest.raises(RuntimeStartError, match=r"code 3.*libcuda"):
        client.start()
    assert client.state == RuntimeState.DEAD
    assert client.shutdown() == "none"


def test_supervisor_gives_up_after_the_restart_limit():
    log = StateLog()
    sup = Supervisor(fake_spec("crash_on_start"), restart_limit=3, restart_delay_s=0.0, on_state=log)
    sup.start()
    log.wait_for(RuntimeState.DEAD, 30)
    assert sup.launches == 4  # the first start and three restarts
    assert log.names() == ["starting", "restarting", "dead"]
    with pytest.raises(RuntimeClientError, match="libcuda"):
        sup.wait_ready(1)
    with pytest.raises(NotReady):
        sup.request(object())  # type: ignore[arg-type]
    sup.stop()
    assert sup.state == RuntimeState.STOPPED


def test_wrong_version_is_refused_without_restarts():
    client = RuntimeClient(fake_spec("wrong_version"))
    with pytest.raises(ProtocolMismatch, match=rf"{re.escape(PROTOCOL_VERSION)}.*99\.0"):
        client.start()
    client.shutdown()
    log = StateLog()
    sup = Supervisor(fake_spec("wrong_version"), on_state=log)
    sup.start()
    log.wait_for(RuntimeState.DEAD)
    assert sup.launches == 1 and "mismatch" in sup.last_error
    sup.stop()


@pytest.mark.parametrize("when", ["before", "after"])
def test_garbage_bytes(when):
    spec = fake_spec("garbage", env={"FAKE_GARBAGE": when})
    client = RuntimeClient(spec)
    if when == "before":
        with pytest.raises(RuntimeStartError, match="handshake"):
            client.start()
    else:
        log = StateLog()
        client._on_state = log
        client.start()
        log.wait_for(RuntimeState.DEAD, 5)  # garbage lengths: the connection is useless, the runtime killed
    assert client.shutdown() in ("none", "terminate")


def test_hung_runtime_is_detected_within_two_seconds(timed):
    deaths = []
    client = RuntimeClient(fake_spec("hang", env={"FAKE_PINGS": "2"}), on_death=deaths.append)
    client.start()
    deadline = time.monotonic() + 10
    while not deaths and time.monotonic() < deadline:
        time.sleep(0.01)
    detected = time.monotonic()
    assert deaths and "stopped answering" in deaths[0]
    assert detected - client.last_pong < 2.0 or not timed
    assert client.state == RuntimeState.DEAD
    assert client._launched.proc.wait(2) is not None  # the hung process was killed
    client.shutdown()


def test_crash_mid_job_fails_the_job_and_the_supervisor_restarts(tmp_path):
    log = StateLog()
    sup = Supervisor(fake_spec("crash_mid_job"), restart_delay_s=0.0, on_state=log)
    sup.start()
    sup.wait_ready(10)
    events = []
    job = sup.submit(a_plan(tmp_path), on_event=events.append)
    terminal = job.wait(5)
    assert terminal.msg_type == "failed" and terminal.content.code == "runtime_died"
    assert "code 7" in terminal.content.message
    assert [e.msg_type for e in events] == ["started", "progress", "failed"]
    log.wait_for(RuntimeState.RESTARTING)
    sup.wait_ready(10)
    assert sup.launches == 2
    sup.stop()
    assert log.names()[-1] == "stopped"


def test_dead_runtime_detected_fast_and_restarted(tmp_path, timed):
    log = StateLog()
    sup = Supervisor(real_spec(), restart_delay_s=0.0, on_state=log)
    sup.start()
    sup.wait_ready(20)
    first = sup.client
    first._launched.proc.kill()
    killed = time.monotonic()
    log.wait_for(RuntimeState.RESTARTING, 5)
    if timed:
        assert time.monotonic() - killed < 2.0
    sup.wait_ready(20)
    assert sup.client is not first and sup.client.ping(1.0) < 1.0
    sup.stop()


def test_shutdown_ladder_request_then_terminate(tmp_path, timed):
    client = RuntimeClient(real_spec())
    client.start()
    assert client.shutdown() == "request"
    # a runtime whose job ignores cancel and never answers: the ladder escalates
    client = RuntimeClient(fake_spec("hang", env={"FAKE_PINGS": "1000"}))
    client.start()
    t0 = time.monotonic()
    assert client.shutdown() == "terminate"
    if timed:
        assert time.monotonic() - t0 < 3.0
