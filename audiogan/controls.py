"""Playing `audiogan live` like an instrument: one control object, many hands on it.

Keys, OSC messages (python-osc) and MIDI messages (mido) all end in `Controls.handle`, so
they drive the same state, which the live loop reads before each frame. No audiogan
imports; python-osc and mido are imported only when their input is opened.

OSC addresses (UDP, any host and port given to `audiogan live --osc HOST:PORT`):

    /audiogan/classes N        switch to class set N (0 = the first --classes set)
    /audiogan/classes/next     the next class set
    /audiogan/preset NAME|N    switch to a preset, by name or number (--presets order)
    /audiogan/preset/next      the next preset
    /audiogan/intensity X      intensity of pulses and drift, 0..4 (1 = as the preset says)
    /audiogan/intensity/up     x1.25
    /audiogan/intensity/down   /1.25
    /audiogan/freeze [0|1]     hold the picture (no argument: toggle)
    /audiogan/tap              tap the tempo (two taps or more set the beat)
    /audiogan/fullscreen       toggle full screen
    /audiogan/quit             stop

MIDI (any controller, `--midi PORT`): note N -> class set N modulo the number of sets;
control change 1 (mod wheel) -> intensity 0..4; control change 64 (sustain pedal) ->
freeze while held; program change N -> preset N; note 0 (or control change 80) -> tap.

Keys in the window: 1-9 class set, Tab next class set, p next preset, Up/Down intensity,
space freeze, t tap, f full screen, q/Esc quit.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Controls", "INTENSITY_RANGE", "OSC_PREFIX", "KEYS"]

INTENSITY_RANGE = (0.0, 4.0)
OSC_PREFIX = "/audiogan"
KEYS = {"1": ("classes", 0), "2": ("classes", 1), "3": ("classes", 2), "4": ("classes", 3),
        "5": ("classes", 4), "6": ("classes", 5), "7": ("classes", 6), "8": ("classes", 7),
        "9": ("classes", 8), "tab": ("classes/next", None), "p": ("preset/next", None),
        "up": ("intensity/up", None), "down": ("intensity/down", None),
        "space": ("freeze", None), "t": ("tap", None), "f": ("fullscreen", None),
        "q": ("quit", None), "escape": ("quit", None)}
"""Key name (as pygame's ``key.name`` gives it) -> (action, value)."""
_STEP = 1.25
_TAP_GAP_S = 2.0


@dataclass
class Controls:
    """What the player asks for now; thread-safe (OSC and MIDI arrive on their threads).

    Attributes
    ----------
    class_sets : list of tuple of int
        The class sets to switch between (the first is the one ``--classes`` gave).
    presets : list of str
        The presets to switch between (the first is the one ``--preset`` gave).
    class_set, preset : int
        Index of the current class set and preset.
    intensity : float
        Scale of pulses and drift, in `INTENSITY_RANGE`.
    frozen, fullscreen, quit : bool
    tapped_bpm, tapped_at : float or None
        The tempo of the last taps and the time of the last one (None without taps).
    """

    class_sets: list[tuple[int, ...]] = field(default_factory=lambda: [(0,)])
    presets: list[str] = field(default_factory=lambda: ["default"])
    class_set: int = 0
    preset: int = 0
    intensity: float = 1.0
    frozen: bool = False
    fullscreen: bool = False
    quit: bool = False
    tapped_bpm: float | None = None
    tapped_at: float | None = None
    changes: int = 0
    """How many messages changed something (for tests and the status line)."""
    _taps: list[float] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def classes(self) -> tuple[int, ...]:
        return self.class_sets[self.class_set]

    @property
    def preset_name(self) -> str:
        return self.presets[self.preset]

    def handle(self, action: str, value: Any = None, now: float | None = None) -> bool:
        """Apply one control (`action` as in the OSC addresses, without the prefix);
        returns whether it was understood."""
        action = action.strip("/")
        with self._lock:
            understood = self._apply(action, value, time.monotonic() if now is None else now)
            self.changes += understood
            return understood

    def _apply(self, action: str, value: Any, now: float) -> bool:
        if action == "classes" and value is not None:
            self.class_set = int(value) % len(self.class_sets)
        elif action == "classes/next":
            self.class_set = (self.class_set + 1) % len(self.class_sets)
        elif action == "preset" and value is not None:
            if isinstance(value, str) and not value.lstrip("-").isdigit():
                if value not in self.presets:
                    return False
                self.preset = self.presets.index(value)
            else:
                self.preset = int(value) % len(self.presets)
        elif action == "preset/next":
            self.preset = (self.preset + 1) % len(self.presets)
        elif action == "intensity" and value is not None:
            self.intensity = _clip(float(value))
        elif action == "intensity/up":
            self.intensity = _clip(max(self.intensity, 0.2) * _STEP)
        elif action == "intensity/down":
            self.intensity = _clip(self.intensity / _STEP)
        elif action == "freeze":
            self.frozen = (not self.frozen) if value is None else bool(value)
        elif action == "tap":
            self._tap(now)
        elif action == "fullscreen":
            self.fullscreen = not self.fullscreen
        elif action == "quit":
            self.quit = True
        else:
            return False
        return True

    def _tap(self, now: float) -> None:
        if self._taps and now - self._taps[-1] > _TAP_GAP_S:
            self._taps.clear()
        self._taps = [*self._taps[-7:], now]
        self.tapped_at = now
        if len(self._taps) >= 2:
            gaps = [b - a for a, b in zip(self._taps[:-1], self._taps[1:], strict=True)]
            self.tapped_bpm = 60.0 / (sum(gaps) / len(gaps))

    def key(self, name: str, now: float | None = None) -> bool:
        """A key pressed in the window (pygame's key name)."""
        if name not in KEYS:
            return False
        action, value = KEYS[name]
        return self.handle(action, value, now)

    # --- OSC ---------------------------------------------------------------------------

    def osc_message(self, address: str, *arguments: Any) -> bool:
        """One OSC message (address and its arguments)."""
        if not address.startswith(OSC_PREFIX + "/"):
            return False
        return self.handle(address[len(OSC_PREFIX):], arguments[0] if arguments else None)

    def serve_osc(self, host: str = "127.0.0.1", port: int = 9000) -> Any:
        """Listen for OSC on UDP `host`:`port` in a thread; returns the server (call its
        ``shutdown()`` and ``server_close()`` to stop). Needs python-osc."""
        from pythonosc.dispatcher import Dispatcher
        from pythonosc.osc_server import ThreadingOSCUDPServer

        dispatcher = Dispatcher()
        dispatcher.map(OSC_PREFIX + "/*", lambda address, *args: self.osc_message(address,
                                                                                  *args))
        server = ThreadingOSCUDPServer((host, port), dispatcher)
        thread = threading.Thread(target=server.serve_forever, name="audiogan-osc",
                                  daemon=True)
        thread.start()
        return server

    # --- MIDI --------------------------------------------------------------------------

    def midi_message(self, message: Any) -> bool:
        """One mido message (see the module notes for what each does)."""
        kind = getattr(message, "type", "")
        if kind == "note_on" and message.velocity > 0:
            if message.note == 0:
                return self.handle("tap")
            return self.handle("classes", message.note)
        if kind == "control_change":
            if message.control == 1:
                low, high = INTENSITY_RANGE
                return self.handle("intensity", low + (high - low) * message.value / 127)
            if message.control == 64:
                return self.handle("freeze", message.value >= 64)
            if message.control == 80 and message.value >= 64:
                return self.handle("tap")
        if kind == "program_change":
            return self.handle("preset", message.program)
        return False

    def open_midi(self, port: str | None = None) -> Any:
        """Open a MIDI input (`port` by name; the default one when None) whose messages
        drive these controls; returns the port (close it to stop). Needs mido."""
        import mido

        return mido.open_input(port, callback=self.midi_message)


def _clip(value: float) -> float:
    low, high = INTENSITY_RANGE
    return min(max(value, low), high)


def class_sets(values: Sequence[Sequence[int]]) -> list[tuple[int, ...]]:
    """Class sets as tuples (at least one)."""
    return [tuple(int(c) for c in value) for value in values] or [(0,)]
