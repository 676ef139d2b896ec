"""The live viewer, headless (SDL's dummy video driver): loops, reloads, quits cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pygame")

from audiogan.encode import VideoWriter  # noqa: E402
from audiogan.errors import ConfigError, DisplayError  # noqa: E402
from audiogan.viewer import load_frames, view  # noqa: E402


def write_loop(folder: Path, version: int, n: int, fps: float = 30) -> Path:
    """npys/out.npy of `n` frames whose red channel is the version and green the index,
    put in place as generate_in_tempo does: the array by a rename, then the hash file."""
    frames = np.zeros((n, 18, 32, 3), dtype=np.uint8)
    frames[..., 0] = version
    frames[..., 1] = np.arange(n)[:, None, None]
    folder.mkdir(exist_ok=True)
    partial = folder / ".out.npy.partial"
    with open(partial, "wb") as handle:
        np.save(handle, frames)
    os.replace(partial, folder / "out.npy")
    (folder / "last_hash.txt").write_text(f"version{version}\nfps={fps:g}\n")
    return folder / "out.npy"


@pytest.fixture()
def headless(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")


def test_new_file_takes_over_at_the_end_of_the_loop(tmp_path, headless):
    source = write_loop(tmp_path / "npys", version=1, n=8)
    shown: list[tuple[int, int, int]] = []

    def on_frame(index: int, frame: np.ndarray) -> None:
        shown.append((index, int(frame[0, 0, 0]), int(frame[0, 0, 1])))
        if len(shown) == 11:  # mid-way through the second loop
            write_loop(tmp_path / "npys", version=2, n=5)

    stats = view(source, fps=240, max_loops=4, on_frame=on_frame)
    assert (stats.loops, stats.reloads) == (4, 1)
    versions = [version for _, version, _ in shown]
    # the second loop plays to its end on the old frames, the third starts on the new ones
    assert versions == [1] * 16 + [2] * 10
    assert [index for _, _, index in shown] == list(range(8)) * 2 + list(range(5)) * 2
    assert stats.frames_shown == 26


class FakeClock:
    """Stands in for the viewer's `time`: the clock moves only when the viewer sleeps, so
    showing a frame takes no time and the schedule can be checked exactly."""

    def __init__(self) -> None:
        self.now = 100.0

    def perf_counter(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.now += seconds


def test_plays_at_the_files_fps(tmp_path, headless, monkeypatch):
    source = write_loop(tmp_path / "npys", version=1, n=10, fps=40)
    clock = FakeClock()
    monkeypatch.setattr("audiogan.viewer.time", clock)
    shown_at: list[float] = []
    stats = view(source, max_loops=3, on_frame=lambda index, frame: shown_at.append(clock.now))
    assert stats.frames_shown == 30
    # frame k of the run is shown at k / 40 s: the file's fps, not the default 30
    np.testing.assert_allclose(np.array(shown_at) - 100.0, np.arange(30) / 40, atol=1e-9)
    elapsed = clock.now - 100.0
    assert 0.7 < elapsed < 3  # 30 frames at 40 fps: 0.75 s
    assert elapsed == pytest.approx(0.75)


def test_seconds_stops_on_the_frame_clock(tmp_path, headless, monkeypatch):
    source = write_loop(tmp_path / "npys", version=1, n=10, fps=20)
    clock = FakeClock()
    monkeypatch.setattr("audiogan.viewer.time", clock)
    stats = view(source, seconds=2.0)
    assert (stats.frames_shown, stats.loops) == (40, 3)  # 2 s at 20 fps: 4 loops of 10 begun


def test_plays_a_video(tmp_path, headless):
    target = tmp_path / "loop.mp4"
    with VideoWriter(target, size=(32, 18), fps=25) as writer:
        writer.write(np.full((6, 18, 32, 3), 128, dtype=np.uint8))
    frames, fps = load_frames(target)
    assert frames.shape == (6, 18, 32, 3) and fps == 25
    stats = view(target, max_loops=2)
    assert (stats.frames_shown, stats.loops) == (12, 2)


def test_clear_errors(tmp_path, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("SDL_VIDEODRIVER", raising=False)
    source = write_loop(tmp_path / "npys", version=1, n=2)
    if sys.platform.startswith("linux"):
        with pytest.raises(DisplayError, match="no display .* SDL_VIDEODRIVER=dummy"):
            view(source)
    with pytest.raises(ConfigError, match="not found; run generate_in_tempo"):
        view(tmp_path / "npys" / "none.npy")
    np.save(tmp_path / "flat.npy", np.zeros((4, 4)))
    with pytest.raises(ConfigError, match="shape \\(4, 4\\).*\\(n, H, W, 3\\)"):
        view(tmp_path / "flat.npy")


def _viewer(cwd: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    environment = {**os.environ, "SDL_VIDEODRIVER": "dummy", **(env or {})}
    return subprocess.Popen([sys.executable, "-m", "audiogan", "view", *args], cwd=cwd,
                            env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_command_runs_headless_reloads_and_exits_0(tmp_path):
    write_loop(tmp_path / "npys", version=1, n=10, fps=20)
    process = _viewer(tmp_path, "--seconds", "3")
    assert process.stderr is not None
    # the new version lands once the first is playing (not after a guessed start-up time)
    first_line = process.stderr.readline()
    assert first_line.startswith("viewer: npys/out.npy, 10 frames at 20 fps"), first_line
    write_loop(tmp_path / "npys", version=2, n=4, fps=20)
    _, stderr = process.communicate(timeout=60)
    stderr = first_line + stderr
    assert process.returncode == 0, stderr
    assert "new loop from npys/out.npy: 4 frames at 20 fps" in stderr
    # one reload (two if the check fell between the array's rename and its hash file's)
    assert re.search(r"loop\(s\), [12] reload\(s\)", stderr), stderr
    shown = int(stderr.split("viewer: ")[-1].split(" frames shown")[0])
    assert 30 <= shown <= 61  # 3 s at 20 fps (fewer on a busy machine)


def test_ctrl_c_quits_cleanly(tmp_path):
    write_loop(tmp_path / "npys", version=1, n=10)
    process = _viewer(tmp_path)
    assert process.stderr is not None
    assert process.stderr.readline().startswith("viewer: npys/out.npy, 10 frames")  # playing
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "frames shown" in stderr and "Traceback" not in stderr


def test_command_without_display(tmp_path):
    if not sys.platform.startswith("linux"):
        pytest.skip("the DISPLAY check is for Linux")
    write_loop(tmp_path / "npys", version=1, n=2)
    environment = {k: v for k, v in os.environ.items()
                   if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")}
    result = subprocess.run([sys.executable, "-m", "audiogan", "view"], cwd=tmp_path,
                            env=environment, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "audiogan: error: no display to open the viewer on (DISPLAY is not set): run it on "
        "a desktop or over ssh -X, or set SDL_VIDEODRIVER=dummy to run it without a window"]
