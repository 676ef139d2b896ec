"""The live controls: one object driven by keys, OSC messages (a real UDP port) and MIDI."""

from __future__ import annotations

import time

import numpy as np
import pytest

from audiogan.config import resolve_config
from audiogan.controls import Controls
from audiogan.live import play
from audiogan.model import load_biggan
from tests import synth

mido = pytest.importorskip("mido")
SimpleUDPClient = pytest.importorskip("pythonosc.udp_client").SimpleUDPClient


def _controls() -> Controls:
    return Controls(class_sets=[(398, 402), (1, 2), (980,)], presets=["default", "calm"])


def _wait(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds  # a bound on a UDP round trip, not a timing check
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_osc_messages_over_udp_drive_the_controls():
    controls = _controls()
    server = controls.serve_osc("127.0.0.1", 0)
    port = server.server_address[1]
    try:
        client = SimpleUDPClient("127.0.0.1", port)
        client.send_message("/audiogan/classes", 2)
        client.send_message("/audiogan/preset", "calm")
        client.send_message("/audiogan/intensity", 2.5)
        client.send_message("/audiogan/freeze", 1)
        client.send_message("/audiogan/fullscreen", [])
        _wait(lambda: controls.changes >= 5)
    finally:
        server.shutdown()
        server.server_close()
    assert controls.classes == (980,)
    assert controls.preset_name == "calm"
    assert controls.intensity == 2.5
    assert controls.frozen and controls.fullscreen


def test_osc_intensity_is_kept_in_range_and_unknown_addresses_ignored():
    controls = _controls()
    assert controls.osc_message("/audiogan/intensity", 9.0) and controls.intensity == 4.0
    assert controls.osc_message("/audiogan/intensity/down") and controls.intensity == 3.2
    assert not controls.osc_message("/audiogan/nonsense", 1)
    assert not controls.osc_message("/other/intensity", 1)
    assert not controls.osc_message("/audiogan/preset", "no-such-preset")
    assert controls.preset_name == "default"


def test_midi_messages_drive_the_same_controls():
    controls = _controls()
    assert controls.midi_message(mido.Message("note_on", note=61, velocity=90))
    assert controls.classes == (1, 2)  # note 61 -> set 61 % 3 = 1
    assert controls.midi_message(mido.Message("control_change", control=1, value=127))
    assert controls.intensity == 4.0
    controls.midi_message(mido.Message("control_change", control=64, value=127))
    assert controls.frozen
    controls.midi_message(mido.Message("control_change", control=64, value=0))
    assert not controls.frozen
    controls.midi_message(mido.Message("program_change", program=1))
    assert controls.preset_name == "calm"
    assert not controls.midi_message(mido.Message("note_off", note=61))


def test_midi_bytes_as_a_controller_sends_them():
    controls = _controls()
    parser = mido.Parser()  # what a mido input port runs over the raw bytes it receives
    parser.feed([0xB0, 1, 0, 0x90, 0, 100])  # mod wheel to 0, then note 0 (tap)
    for message in parser:
        assert controls.midi_message(message)
    assert controls.intensity == 0.0 and controls.tapped_at is not None


def test_tap_tempo_from_keys():
    controls = _controls()
    for k in range(4):
        controls.key("t", now=10.0 + 0.5 * k)
    assert controls.tapped_bpm == pytest.approx(120.0)
    controls.key("t", now=20.0)  # a long pause starts a new tapping
    assert controls.tapped_bpm == pytest.approx(120.0) and controls.tapped_at == 20.0
    assert controls.key("up") and controls.intensity == 1.25
    assert controls.key("2") and controls.classes == (1, 2)
    assert controls.key("space") and controls.frozen
    assert not controls.key("z")
    assert controls.key("q") and controls.quit


def test_freeze_holds_the_picture_and_intensity_moves_it(tmp_path, tiny_weights):
    y, _ = synth.click_track(120.0, 3.0, sr=22050)
    song = synth.write_wav(tmp_path / "clicks.wav", y, 22050)
    config = resolve_config(classes=[398, 402], weights=tiny_weights, device="cpu")
    generator = load_biggan(None, tiny_weights)

    def frames(controls: Controls) -> np.ndarray:
        target = tmp_path / f"out{controls.changes}{controls.intensity}.mp4"
        play(song, config=config, simulate=True, frame_cost_ms=0.0, record=target,
             controls=controls, generator=generator)
        return synth.read_video(target)[0].astype(np.float64)

    frozen = _controls()
    frozen.handle("freeze", True)
    still = frames(frozen)
    assert np.abs(np.diff(still[1:], axis=0)).max() < 3  # one picture (up to the encoder)
    calm, wild = _controls(), _controls()
    calm.handle("intensity", 0.2)
    wild.handle("intensity", 3.0)
    assert synth.motion(frames(wild)).mean() > 1.5 * synth.motion(frames(calm)).mean()
