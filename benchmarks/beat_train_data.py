"""Build the training set of the learned beat activation (`audiogan.beatnet`).

    python benchmarks/beat_train_data.py [--dest DIR] [--songs N] [--jobs J] [--compound N]

Music with exact beats, none of it in the benchmark (`benchmarks/beat_data.py`):

- **compositions**: the MIDI files of openttd-openmsx and planetblupi-music-midi that the
  benchmark does not use, each rendered with three General MIDI soundfonts at a tempo
  scaled by a random factor (0.8-1.25);
- **accompaniments**: songs written here by MMA (Musical MIDI Accompaniment) from its
  standard grooves (rock, swing, latin, waltz, march, ballad, jazz ...) over random chord
  progressions at random tempi; some lose their drums, so that the beat must be heard in
  the harmony alone.

With ``--compound N``, N more MMA songs in 6/8 (`COMPOUND_STYLES`; tried, not in the
shipped networks: benchmarks/BEATS.md, "Compound meters"). Each render is varied: drums
louder or softer, channels given other instruments, and now
and then saturation, a spectral tilt or a noise bed (`colour`).

Beats come from each MIDI file's tempo map and time signatures (`beat_data.tempo_map_beats`,
the same level as the benchmark's). Each item is stored as the features the tracker sees at
run time (`audiogan.analysis.hop_features(...).mel_db`, float16) with its beat and
downbeat times, in ``DEST/NAME.npz``; nothing is written into the repository. Renders are
seeded: the same command builds the same set.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parent))
import beat_data  # noqa: E402

DEFAULT_DEST = Path("~/.cache/audiogan/beat-train")
SR = 22050
SOUNDFONTS = ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/sounds/sf2/TimGM6mb.sf2",
              "/usr/share/sounds/sf3/MuseScore_General.sf3")
APT_PACKAGES = ("fluidsynth", "fluid-soundfont-gm", "timgm6mb-soundfont",
                "musescore-general-soundfont-small", "mma", "openttd-openmsx",
                "planetblupi-music-midi")
MMA_LIB = beat_data.MMA_LIB
MAX_S = 150.0
PROGRESSIONS = beat_data.PROGRESSIONS
_chord = beat_data.chord_name


def spare_midi_files() -> list[Path]:
    """The openmsx and Planet Blupi MIDI files the benchmark leaves out."""
    used = {Path(source.path).resolve() for source in beat_data.SOURCES if source.kind == "midi"}
    files = sorted(Path(beat_data.OPENMSX).glob("*.mid")) + sorted(Path(beat_data.BLUPI).glob(
        "*.mid"))
    return [path for path in files if path.resolve() not in used]


def mma_grooves() -> list[tuple[str, list[str]]]:
    """(file, its main grooves) for each MMA standard style in 2, 3 or 4 quarter beats a bar;
    intros, endings and fills are left out, 6/8 and odd meters too."""
    styles = []
    for path in sorted(MMA_LIB.glob("*.mma")):
        text = path.read_text(errors="replace")
        times = set(re.findall(r"^\s*Time\s+(\d+)", text, flags=re.M | re.I))
        signatures = {re.sub(r"\s+", "/", sig.strip()) for sig in
                      re.findall(r"^\s*TimeSig\s+(\d+[\s/]+\d+)", text, flags=re.M | re.I)}
        if not times or not times <= {"2", "3", "4"} or "68" in path.stem \
                or not signatures <= {"3/4", "4/4"}:
            continue
        names = re.findall(r"^\s*DefGroove\s+(\S+)", text, flags=re.M | re.I)
        main = [name for name in names
                if not re.search(r"intro|end|fill|metronome|break", name, flags=re.I)]
        if main:
            styles.append((path.stem, main))
    return styles


def mma_song(rng: random.Random, grooves: list[tuple[str, list[str]]]) -> tuple[str, str]:
    """An MMA song (its text) and a name: a groove or two, a progression, a tempo."""
    style, names = grooves[rng.randrange(len(grooves))]
    main = rng.choice(names)
    second = rng.choice(names)
    tempo = int(round(math.exp(rng.uniform(math.log(62), math.log(200)))))
    key = rng.randrange(12)
    progression = rng.choice(PROGRESSIONS)
    bars = rng.choice((24, 32, 40))
    lines = [f"Tempo {tempo}", f"Groove {main}"]
    for bar in range(bars):
        if bar == bars // 2 and second != main:
            lines.append(f"Groove {second}")
        lines.append(f"{bar + 1} {_chord(progression[bar % len(progression)], key)}")
    return "\n".join(lines) + "\n", f"mma-{style}-{main}-{tempo}"


def _scaled_midi(source: Path, out: Path, *, tempo_factor: float, drum_gain: float,
                 programs: dict[int, int], max_s: float = MAX_S) -> None:
    """A copy of a MIDI file played `tempo_factor` times as fast, its drums (channel 10)
    `drum_gain` as loud (0: gone), the instruments of the channels in `programs` changed,
    cut at `max_s`."""
    mido = beat_data._mido()
    midi = mido.MidiFile(str(source))
    for track in midi.tracks:
        for index, msg in enumerate(track):
            if msg.type == "set_tempo":
                track[index] = msg.copy(tempo=max(1, int(round(msg.tempo / tempo_factor))))
            elif msg.type == "note_on" and msg.channel == 9 and msg.velocity > 0:
                velocity = int(round(msg.velocity * drum_gain))
                track[index] = msg.copy(velocity=min(127, velocity))
            elif msg.type == "program_change" and msg.channel in programs:
                track[index] = msg.copy(program=programs[msg.channel])
    scratch = out.with_suffix(".full.mid")
    midi.save(str(scratch))
    beat_data._cut_midi(str(scratch), max_s, out)
    scratch.unlink()


def render(midi_path: Path, soundfont: str, *, reverb: bool) -> np.ndarray:
    """Mono samples at 22050 Hz of a MIDI file through fluidsynth."""
    with tempfile.TemporaryDirectory() as scratch:
        wav = Path(scratch) / "out.wav"
        subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.5", "-r", str(SR),
                        "-R", "1" if reverb else "0", "-C", "1" if reverb else "0",
                        "-F", str(wav), soundfont, str(midi_path)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        y, sr = soundfile.read(wav, always_2d=True, dtype="float32")
    assert sr == SR, sr
    return y.mean(axis=1)


def colour(y: np.ndarray, rng: random.Random) -> np.ndarray:
    """What a studio and a room do to a clean render, each now and then: drive into
    saturation (a loud master, distorted guitars), a tilt of the spectrum, a noise bed."""
    import scipy.signal

    y = y.astype(np.float64)
    rms = float(np.sqrt(np.mean(y**2))) or 1.0
    if rng.random() < 0.35:
        drive = rng.uniform(2.0, 12.0)
        y = np.tanh(drive * y / (3 * rms)) * rms
    if rng.random() < 0.4:
        cutoff = rng.uniform(300.0, 3000.0)
        kind = rng.choice(("lowpass", "highpass"))
        b, a = scipy.signal.butter(1, cutoff, btype=kind, fs=SR)
        y = y + rng.uniform(0.5, 2.0) * scipy.signal.lfilter(b, a, y)
    if rng.random() < 0.3:
        noise = np.cumsum(np.random.default_rng(rng.randrange(2**31)).normal(size=len(y)))
        noise = scipy.signal.lfilter([1, -1], [1, -0.98], noise)  # pink-ish, no drift
        noise *= np.sqrt(np.mean(y**2)) / (np.sqrt(np.mean(noise**2)) or 1.0)
        y = y + noise * 10 ** (rng.uniform(-30.0, -12.0) / 20)
    return y.astype(np.float32)


def build(job: dict, dest: Path) -> str:
    """Render one item and store its features and beats; returns its name."""
    from audiogan.analysis import hop_features

    out = dest / f"{job['name']}.npz"
    if out.exists():
        return job["name"]
    rng = random.Random(job["seed"])
    with tempfile.TemporaryDirectory() as scratch:
        midi = Path(scratch) / "song.mid"
        if "mma" in job:
            source = Path(scratch) / "song.mma"
            source.write_text(job["mma"])
            subprocess.run(["mma", "-f", str(Path(scratch) / "raw.mid"), str(source)],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            raw = Path(scratch) / "raw.mid"
            if "mma_time" in job:  # 6/8: a tempo map that says what MMA plays
                beat_data._true_compound_midi(raw, Path(scratch) / "true.mid", job["mma_time"])
                raw = Path(scratch) / "true.mid"
        else:
            raw = Path(job["midi"])
        # some channels play another instrument (not the drums, channel 10)
        programs = {channel: rng.randrange(104) for channel in range(16)
                    if channel != 9 and rng.random() < job["reprogram"]}
        _scaled_midi(raw, midi, tempo_factor=job["tempo_factor"], drum_gain=job["drum_gain"],
                     programs=programs)
        beats, downbeats, meters = beat_data.tempo_map_beats(midi)
        y = render(midi, job["soundfont"], reverb=rng.random() < 0.6)
    y = colour(y, rng)
    peak = float(np.max(np.abs(y))) or 1.0
    y = y / peak * 10 ** (rng.uniform(-24.0, -1.0) / 20)
    hop = hop_features([y[i:i + SR * 10] for i in range(0, len(y), SR * 10)], sr=SR)
    end = len(y) / SR
    keep = beats <= end
    partial = out.with_suffix(".part.npz")
    np.savez_compressed(partial, mel_db=hop.mel_db, beats=beats[keep],
                        downbeats=downbeats[downbeats <= end], meters=np.array(meters),
                        fps=np.float64(hop.fps))
    os.replace(partial, out)
    return job["name"]


COMPOUND_STYLES = ("68swing", "blues68", "arpeggio68", "68march")
"""The 6/8 styles of MMA trained on; the benchmark's compound set also holds pieces of two
others (ballad68, afro-cuban) that no network heard."""


def compound_song(rng: random.Random) -> tuple[str, str, int]:
    """An MMA song in 6/8 (its text), a name, and its style's MMA beats a bar."""
    style = rng.choice(COMPOUND_STYLES)
    time, grooves = beat_data._mma_grooves(style)
    main = rng.choice(grooves)
    dotted_bpm = math.exp(rng.uniform(math.log(40), math.log(130)))
    key = rng.randrange(12)
    progression = rng.choice(PROGRESSIONS)
    lines = [f"Tempo {round(dotted_bpm * time / 2)}", f"Groove {main}"]
    for bar in range(rng.choice((16, 24, 32))):
        lines.append(f"{bar + 1} {_chord(progression[bar % len(progression)], key)}")
    return "\n".join(lines) + "\n", f"mma68-{main}-{round(dotted_bpm)}", time


def jobs(songs: int, seed: int = 0, compound: int = 0) -> list[dict]:
    rng = random.Random(seed)
    plan = []
    for path in spare_midi_files():
        for index, soundfont in enumerate(SOUNDFONTS):
            plan.append({"name": f"midi-{path.stem}-{index}", "midi": str(path),
                         "soundfont": soundfont, "tempo_factor": rng.uniform(0.8, 1.25),
                         "drum_gain": rng.uniform(0.6, 1.2), "reprogram": 0.2 * index,
                         "seed": rng.randrange(2**31)})
    grooves = mma_grooves()
    for index in range(songs):
        text, name = mma_song(rng, grooves)
        plan.append({"name": f"{name}-{index}", "mma": text,
                     "soundfont": rng.choice(SOUNDFONTS), "tempo_factor": 1.0,
                     "drum_gain": 0.0 if rng.random() < 0.2 else rng.uniform(0.4, 1.3),
                     "reprogram": rng.choice((0.0, 0.0, 0.3, 0.6)),
                     "seed": rng.randrange(2**31)})
    # drawn from a generator of their own, so that the other items stay as they were
    rng = random.Random(seed + 68)
    for index in range(compound):
        text, name, time = compound_song(rng)
        plan.append({"name": f"{name}-{index}", "mma": text, "mma_time": time,
                     "soundfont": rng.choice(SOUNDFONTS), "tempo_factor": 1.0,
                     "drum_gain": 0.0 if rng.random() < 0.2 else rng.uniform(0.4, 1.3),
                     "reprogram": rng.choice((0.0, 0.0, 0.3, 0.6)),
                     "seed": rng.randrange(2**31)})
    return plan


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST)
    parser.add_argument("--songs", type=int, default=600, help="MMA songs to write")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--compound", type=int, default=0,
                        help="MMA songs in 6/8 to write as well (COMPOUND_STYLES)")
    args = parser.parse_args()
    dest = args.dest.expanduser()
    dest.mkdir(parents=True, exist_ok=True)
    plan = jobs(args.songs, compound=args.compound)
    with ProcessPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(build, job, dest) for job in plan]
        for done, future in enumerate(futures, 1):
            name = future.result()
            print(f"[{done}/{len(plan)}] {name}", flush=True)


if __name__ == "__main__":
    main()
