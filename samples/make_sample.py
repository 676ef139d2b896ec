"""Synthesise ``groove.wav``: a 16-second, band-like test track for audiogan.

The track is built from nothing but oscillators and seeded noise (no recorded
samples of any kind):

* tempo 112 BPM, 4/4, chords Am - F - C - G, one chord per bar (~2.14 s);
* bar 1 is an intro with only the chord pad and closed hi-hats;
* from bar 2 on: kick on beats 1 and 3 (plus a light kick on the "and" of 4
  every other bar), snare on 2 and 4, eighth-note hats, a saw bass on the
  chord roots and the sustained pad;
* 44100 Hz, stereo, 16-bit PCM, peak normalised to -1 dBFS, 0.5 s fade-out.

The output is deterministic (fixed noise seed). The script and the audio it
produces are dedicated to the public domain under CC0 1.0
(https://creativecommons.org/publicdomain/zero/1.0/).

Regenerate with (from the repository root)::

    python samples/make_sample.py            # writes samples/groove.wav
    python samples/make_sample.py --out /tmp/x.wav --seconds 8

Only numpy and the standard library are needed.
"""

from __future__ import annotations

import argparse
import wave
from pathlib import Path

import numpy as np

SR = 44100
BPM = 112.0
BEATS_PER_BAR = 4
SEED = 20240112
PEAK_DBFS = -1.0
FADE_SECONDS = 0.5
INTRO_BARS = 1

# Mix levels (linear gains before peak normalisation).
MIX = {"pad": 0.08, "hat": 0.16, "kick": 0.9, "kick_light": 0.4, "snare": 0.5, "bass": 0.35}

# One chord per bar: (name, root MIDI note, pad voicing MIDI notes).
# The bass plays the root one octave lower (A1, F1, C2, G1).
PROGRESSION = [
    ("Am", 45, (57, 60, 64)),  # A3 C4 E4
    ("F", 41, (57, 60, 65)),  # A3 C4 F4
    ("C", 48, (55, 60, 64)),  # G3 C4 E4
    ("G", 43, (55, 59, 62)),  # G3 B3 D4
]


def midi_to_hz(note: float) -> float:
    return 440.0 * 2.0 ** ((note - 69) / 12.0)


def one_pole_lowpass(x: np.ndarray, cutoff_hz, sr: int = SR) -> np.ndarray:
    """Simple one-pole low-pass; ``cutoff_hz`` may be a scalar or per-sample array."""
    cutoff = np.broadcast_to(np.asarray(cutoff_hz, dtype=np.float64), x.shape)
    a = 1.0 - np.exp(-2.0 * np.pi * cutoff / sr)
    y = np.empty_like(x)
    state = 0.0
    for i in range(x.shape[0]):
        state += a[i] * (x[i] - state)
        y[i] = state
    return y


def pan_gains(pan: float) -> tuple[float, float]:
    """Constant-power pan: -1 = hard left, 0 = centre, +1 = hard right."""
    angle = (pan + 1.0) * np.pi / 4.0
    return float(np.cos(angle)), float(np.sin(angle))


def add(buf: np.ndarray, start_s: float, sig: np.ndarray, gain: float = 1.0,
        pan: float = 0.0, sr: int = SR) -> None:
    """Mix a mono signal into the stereo buffer at ``start_s`` seconds."""
    start = int(round(start_s * sr))
    if start >= buf.shape[0] or start + sig.shape[0] <= 0:
        return
    lo = max(start, 0)
    hi = min(start + sig.shape[0], buf.shape[0])
    seg = sig[lo - start:hi - start] * gain
    gl, gr = pan_gains(pan)
    buf[lo:hi, 0] += seg * gl
    buf[lo:hi, 1] += seg * gr


# --------------------------------------------------------------------------
# Instruments. Each takes a time axis ``t`` (seconds from the note onset).
# --------------------------------------------------------------------------

def kick(t: np.ndarray) -> np.ndarray:
    """Sine kick with a fast downward pitch sweep and a short click.

    The body decays quickly so that its low "note" (~50 Hz) does not colour
    the chroma of the chords.
    """
    freq = 50.0 + 120.0 * np.exp(-t / 0.04)
    phase = 2.0 * np.pi * np.cumsum(freq) / SR
    body = np.sin(phase) * np.exp(-t / 0.09)
    click = np.sin(2.0 * np.pi * 1800.0 * t) * np.exp(-t / 0.004)
    return np.tanh(1.6 * (body + 0.25 * click))


def snare(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Noise burst (high-passed) plus a pitched tone body."""
    noise = rng.standard_normal(t.shape[0])
    noise = np.diff(noise, prepend=0.0) * 0.5  # crude high-pass
    rattle = noise * np.exp(-t / 0.07)
    body = (np.sin(2.0 * np.pi * 185.0 * t) + 0.5 * np.sin(2.0 * np.pi * 330.0 * t))
    body *= np.exp(-t / 0.045)
    return 0.75 * rattle + 0.6 * body


def hihat(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Closed hat: doubly differenced (bright) noise with a very short decay."""
    noise = rng.standard_normal(t.shape[0])
    bright = np.diff(noise, n=2, prepend=[0.0, 0.0]) * 0.25
    return bright * np.exp(-t / 0.025)


def bass_note(t: np.ndarray, freq: float) -> np.ndarray:
    """Saw bass through a one-pole low-pass whose cutoff closes as the note decays."""
    saw = 2.0 * ((t * freq) % 1.0) - 1.0
    env = np.exp(-t / 0.35)
    env *= np.minimum(1.0, t / 0.004)  # de-click attack
    release = 0.03
    tail = np.clip((t[-1] - t) / release, 0.0, 1.0)
    cutoff = 180.0 + 900.0 * np.exp(-t / 0.08)
    return one_pole_lowpass(saw, cutoff) * env * tail


def pad_note(t: np.ndarray, freq: float, detune_cents: float,
             attack: float = 0.35, release: float = 0.25) -> np.ndarray:
    """Soft additive pad voice (a few decaying harmonics), slow attack and release."""
    f = freq * 2.0 ** (detune_cents / 1200.0)
    sig = np.zeros_like(t)
    for n, amp in ((1, 1.0), (2, 0.35), (3, 0.18), (4, 0.08), (5, 0.05)):
        sig += amp * np.sin(2.0 * np.pi * f * n * t + 0.7 * n)
    dur = t[-1]
    env = np.minimum(1.0, t / attack) * np.clip((dur - t) / release, 0.0, 1.0)
    env *= 1.0 + 0.05 * np.sin(2.0 * np.pi * 0.3 * t)  # slight movement
    return sig * env


def time_axis(seconds: float, sr: int = SR) -> np.ndarray:
    return np.arange(int(round(seconds * sr))) / sr


# --------------------------------------------------------------------------

def beat_grid(seconds: float, bpm: float = BPM, intro_bars: int = INTRO_BARS) -> np.ndarray:
    """Times (s) of the quarter-note beats where the drums play."""
    beat = 60.0 / bpm
    first = intro_bars * BEATS_PER_BAR * beat
    n = int(np.floor((seconds - first) / beat - 1e-9)) + 1
    return first + beat * np.arange(max(n, 0))


def render_track(sr: int = SR, seconds: float = 16.0, bpm: float = BPM,
                 seed: int = SEED) -> np.ndarray:
    """Render the whole track as float64 stereo, shape (n_samples, 2), peak-normalised."""
    if sr != SR:
        raise ValueError(f"only sr={SR} is supported")
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    buf = np.zeros((n, 2), dtype=np.float64)
    beat = 60.0 / bpm
    bar = BEATS_PER_BAR * beat
    n_bars = int(np.ceil(seconds / bar))

    for b in range(n_bars):
        t0 = b * bar
        name, root, voicing = PROGRESSION[b % len(PROGRESSION)]
        full_band = b >= INTRO_BARS

        # Pad: sustained chord for the whole bar (slight overlap into the next).
        t_pad = time_axis(bar + 0.2, sr)
        for i, note in enumerate(voicing):
            f = midi_to_hz(note)
            pan = (-0.35, 0.0, 0.35)[i % 3]
            add(buf, t0, pad_note(t_pad, f, -6.0), MIX["pad"], pan - 0.2)
            add(buf, t0, pad_note(t_pad, f, +6.0), MIX["pad"], pan + 0.2)

        # Hats on every eighth note, slightly right, accented on the beat.
        for k in range(BEATS_PER_BAR * 2):
            accent = 1.0 if k % 2 == 0 else 0.6
            add(buf, t0 + k * beat / 2.0, hihat(time_axis(0.12, sr), rng), MIX["hat"] * accent, 0.3)

        if not full_band:
            continue

        # Kick on 1 and 3; a light one on the "and" of 4 every other bar.
        for k in (0, 2):
            add(buf, t0 + k * beat, kick(time_axis(0.45, sr)), MIX["kick"])
        if b % 2 == 0:
            add(buf, t0 + 3.5 * beat, kick(time_axis(0.3, sr)), MIX["kick_light"])

        # Snare on 2 and 4.
        for k in (1, 3):
            add(buf, t0 + k * beat, snare(time_axis(0.3, sr), rng), MIX["snare"])

        # Bass on the chord root: (onset in beats, length in beats, octave).
        for on, length, octave in ((0.0, 0.9, 0), (1.5, 0.45, 0), (2.0, 0.9, 0),
                                   (3.0, 0.45, 12), (3.5, 0.45, 0)):
            f = midi_to_hz(root - 12 + octave)
            add(buf, t0 + on * beat, bass_note(time_axis(length * beat, sr), f), MIX["bass"])

    # Fade out over the last FADE_SECONDS.
    fade = min(int(FADE_SECONDS * sr), n)
    if fade > 0:
        buf[n - fade:] *= np.linspace(1.0, 0.0, fade)[:, None]

    peak = np.max(np.abs(buf))
    if peak > 0:
        buf *= 10.0 ** (PEAK_DBFS / 20.0) / peak
    return buf


def write_wav(path: Path, audio: np.ndarray, sr: int = SR) -> None:
    pcm = np.clip(np.round(audio * 32767.0), -32768, 32767).astype("<i2")
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(audio.shape[1])
        w.setsampwidth(2)
        w.setframerate(sr)
        w.writeframes(pcm.tobytes())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "groove.wav",
                        help="output wav path (default: groove.wav next to this script)")
    parser.add_argument("--seconds", type=float, default=16.0, help="track length in seconds")
    args = parser.parse_args(argv)

    audio = render_track(SR, args.seconds)
    write_wav(args.out, audio)
    beats = beat_grid(args.seconds)
    first = beats[0] if beats.size else float("nan")
    print(f"{beats.size} drum beats (first at {first:.4f} s, period {60.0 / BPM:.4f} s)")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
