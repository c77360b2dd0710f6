"""The real application on a real X display (Xvfb), driven by real input events (xdotool): the demo
through paint → track → propagate → export, with screenshots checked by region (not by pixel).

Opt-in: ``pytest -m display tests/display`` (needs ``Xvfb`` and ``xdotool``: ``apt-get install xvfb
xdotool``, and the Qt xcb libraries ``vivid doctor`` names). ``VIVID_SCREENSHOTS=DIR`` keeps the
screenshots (``docs/screenshots`` is made this way). The app reports where its widgets are and what
state it is in through ``VIVID_DESKTOP_UI_MAP`` (vivid_desktop/qt/ui_map.py); every action below is a
key press or a mouse drag on the X server, as a user would make them.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.display

SCREEN = (1366, 768)


@pytest.fixture
def display():
    """A fresh Xvfb server at 1366×768 (the smallest screen the editor is made for), on a free display."""
    if not (shutil.which("Xvfb") and shutil.which("xdotool")):
        pytest.fail("the display test needs Xvfb and xdotool (apt-get install xvfb xdotool)")
    for number in random.sample(range(200, 900), 20):
        if Path(f"/tmp/.X{number}-lock").exists():
            continue
        name = f":{number}"
        size = f"{SCREEN[0]}x{SCREEN[1]}x24"
        server = subprocess.Popen(
            ["Xvfb", name, "-screen", "0", size, "-nolisten", "tcp"], stderr=subprocess.DEVNULL
        )
        if _answers(name, server):
            yield name
            server.terminate()
            server.wait(10)
            return
        server.kill()
        server.wait(10)
    pytest.fail("no X display could be started")


def _answers(name: str, server: subprocess.Popen, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    env = dict(os.environ, DISPLAY=name)
    while time.monotonic() < deadline and server.poll() is None:
        if subprocess.run(["xdotool", "getdisplaygeometry"], env=env, capture_output=True).returncode == 0:
            return True
        time.sleep(0.2)
    return False


class App:
    """The editor as a separate process on ``display``; ``map()`` is its latest UI map."""

    def __init__(self, display: str, tmp: Path) -> None:
        self.display = display
        self.map_path = tmp / "ui-map.json"
        env = dict(
            os.environ,
            DISPLAY=display,
            QT_QPA_PLATFORM="xcb",
            VIVID_DESKTOP_CONFIG=str(tmp / "config"),
            VIVID_DESKTOP_DATA=str(tmp / "data"),
            VIVID_DESKTOP_UI_MAP=str(self.map_path),
            # a busy test machine may leave the runtime unscheduled for seconds: that is not a crash
            VIVID_RUNTIME_HEARTBEAT_TIMEOUT=os.environ.get("VIVID_RUNTIME_HEARTBEAT_TIMEOUT", "20"),
        )
        self.log = (tmp / "app.log").open("w")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import sys; from vivid_desktop.qt.app import main; sys.exit(main())",
                "--demo",
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def map(self) -> dict:
        try:
            return json.loads(self.map_path.read_text())
        except (OSError, ValueError):
            return {}

    def wait(self, what: str, until: Callable[[dict], bool], timeout: float = 120.0) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"the editor exited ({self.proc.returncode}) waiting for {what}")
            state = self.map()
            if state and until(state):
                return state
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}: {self.map()}")

    def xdotool(self, *args: str) -> None:
        subprocess.run(["xdotool", *args], env=dict(os.environ, DISPLAY=self.display), check=True)

    def key(self, keys: str) -> None:
        """Keys go to the editor: a click on its status bar first gives it the keyboard (there is no
        window manager on the bare X server to give the focus back after a dialog closes)."""
        x, y, w, h = self.map()["window"]
        self.xdotool("mousemove", str(x + w // 2), str(y + h - 6), "click", "1")
        self.xdotool("key", "--clearmodifiers", keys)

    def click(self, rect: list[int]) -> None:
        x, y, w, h = rect
        self.xdotool("mousemove", str(x + w // 2), str(y + h // 2), "click", "1")

    def drag(self, points: list[tuple[int, int]]) -> None:
        x, y = points[0]
        self.xdotool("mousemove", str(x), str(y), "mousedown", "1")
        for x, y in points[1:]:
            self.xdotool("mousemove", str(x), str(y))
            time.sleep(0.02)
        self.xdotool("mouseup", "1")

    def screenshot(self, name: str, out: Path) -> np.ndarray:
        from PIL import ImageGrab

        image = ImageGrab.grab(xdisplay=self.display)
        out.mkdir(parents=True, exist_ok=True)
        image.save(out / f"{name}.png")
        return np.asarray(image.convert("RGB"))

    def close(self) -> None:
        if self.proc.poll() is None:
            self.key("ctrl+q")
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()


def region(shot: np.ndarray, rect: list[int]) -> np.ndarray:
    x, y, w, h = rect
    return shot[max(0, y) : y + h, max(0, x) : x + w]


@pytest.mark.timeout(1200)
def test_demo_paint_track_propagate_export_on_a_real_display(display, tmp_path):
    out = Path(os.environ.get("VIVID_SCREENSHOTS") or tmp_path / "shots")
    app = App(display, tmp_path)
    try:
        _drive(app, out, tmp_path)
    finally:
        app.close()
        print((tmp_path / "app.log").read_text()[-3000:])


def _drive(app: App, out: Path, tmp: Path) -> None:
    state = app.wait("the demo and the runtime", lambda m: m["open"] and m["runtime"] == "ready", 180)
    x, y, w, h = state["window"]
    assert x >= 0 and y >= 0 and x + w <= SCREEN[0] and y + h <= SCREEN[1] + 40, "the window fits the screen"
    app.key("Home")
    app.wait("frame 0", lambda m: m["frame_number"] == 0)
    shot = app.screenshot("01-mask-painting", out)
    frame = region(shot, state["frame"])
    assert frame.std() > 10, "the viewer shows the clip"

    # paint: the brush (B), one stroke across the right of the frame, made of real pointer events
    before = app.map()["mask_pixels"]
    app.key("b")
    fx, fy, fw, fh = state["frame"]
    app.drag([(fx + int(fw * t), fy + int(fh * 0.75)) for t in np.linspace(0.7, 0.9, 8)])
    state = app.wait("the painted stroke", lambda m: m["mask_pixels"] > before)

    # track (Ctrl+T), then propagate (Ctrl+Return): the plan is confirmed with Return
    app.key("ctrl+t")
    app.wait("tracking", lambda m: m["tracked"] == [0, m["frame_count"]], 300)
    app.key("ctrl+Return")
    state = app.wait("the plan", lambda m: "planDialog" in m["dialogs"])
    app.screenshot("09-plan", out)
    app.click(state["dialogs"]["planDialog"]["buttons"]["Propagate"])
    app.wait("the render to start", lambda m: m["propagating"] or m["render_status"] == "done")
    state = app.wait("the render", lambda m: m["render_status"] == "done", 600)
    assert state["rendered"] == state["frame_count"]
    app.key("Home")  # to the first frame: the viewer shows the render there
    time.sleep(1.0)
    shot = app.screenshot("02-propagating", out)
    result_lane = region(shot, app.map()["lanes"]["result"])
    assert result_lane.std() > 8, "the timeline's result lane shows the rendered frames"
    assert region(shot, app.map()["lanes"]["audio"]).std() > 3, "the audio lane shows the demo's tone"

    # export (Ctrl+E): the dialog's Export button, a real click; the file is checked, not the pixels
    app.key("ctrl+e")
    state = app.wait("the export dialog", lambda m: "exportDialog" in m["dialogs"])
    app.click(state["dialogs"]["exportDialog"]["buttons"]["Export"])
    state = app.wait("the export", lambda m: m["export_result"] or m["export_error"], 300)
    assert not state["export_error"], state["export_error"]
    app.screenshot("07-export-dialog", out)
    from vivid_desktop.media.probe import probe

    info = probe(state["export_result"])
    assert info.frame_count == state["frame_count"] and info.has_audio
