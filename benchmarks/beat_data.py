"""Build the real-music beat benchmark: excerpts of real pieces and their reference beats.

    python benchmarks/beat_data.py [--dest DIR] [--quick] [--madmom-python PATH]
                                   [--soundfont FONT --compositions]

Nothing is downloaded and nothing is installed: the music comes from Debian packages (free
licences; see each package's copyright file) that the script asks for by name, and the data
is written under ``--dest`` (default ``$AUDIOGAN_BEAT_BENCH`` or
``~/.cache/audiogan/beat-bench``), never into the repository. Each item is a mono 22050 Hz
wav excerpt (60 s) with its reference beats as text (seconds, one per line) beside it, and
``manifest.json`` lists them for `benchmarks/bench_beats.py`.

Five sets:

- **midi**: real compositions shipped as MIDI files (openttd-openmsx, planetblupi-music-midi),
  rendered with fluidsynth and the FluidR3 GM soundfont. Their beats are exact: they come
  from the file's tempo map (``reference: tempo-map``).
- **real**: real recordings. The Frets on Fire songs (fretsonfire-songs-*) are band
  recordings whose ``notes.mid`` chart has a tempo map synced to the audio, so their beats
  are exact too (``tempo-map``; song.ogg and guitar.ogg are mixed), once checked against
  madmom (`_check_chart`; one chart, Metal madness, fails and is scored against madmom
  instead). The others (wesnoth
  orchestral, nexuiz electronic, warzone2100, hyperrogue, singularity) have no
  annotation: their reference is madmom's RNN + DBN beat tracker (``reference: madmom``),
  computed once through `benchmarks/madmom_beats.py` in a separate environment.
- **extra**: 41 more recordings from the same packages (singularity, hyperrogue, warzone2100,
  wesnoth; 10-11 each, none in the sets above), against madmom. They were added after the
  tracker's rules and networks were set, to measure it on music it was not tuned on; the
  16 madmom-referenced songs of **real** are the ones its rules were tuned on.
- **simutrans**: 51 more compositions shipped as MIDI (simutrans-data), rendered and
  scored like the midi set; added after the tracker's rules were set, except those for a
  fast first pass (`audiogan.beats.FAST_BPM`) and for a grid in threes
  (`audiogan.beats.THREES`), found on them.
- **compound**: 18 accompaniments in 6/8 written here by MMA (Debian package mma) from its
  six 6/8 styles, rendered like the MIDI set (`compound_sources`). No other piece is in a
  compound meter, and the beat network never heard one in training. Beats exact, at the
  dotted quarter.

Which beat a tempo map gives. The tapped level is taken from the time signature: one beat
per denominator note (quarter notes in 4/4, 3/4, 5/4, 6/4; eighths in 7/8), except compound
meters (6/8, 9/8, 12/8, 6/16 ...: numerator a multiple of 3 above 3, denominator 8 or more),
where listeners tap the dotted note, so a beat is three denominator notes. A file without a
time signature is 4/4, as the MIDI standard says. Downbeats are the bar starts the time
signatures give. This is the notated level: a 200 BPM piece whose people tap at 100 counts as
200 here (the octave ratio and AMLt in the benchmark show such cases).

An excerpt starts 0.5 s before the first note of a MIDI piece, and for a recording at 0 s,
or at 30 s when its first 15 s are nearly silent (RMS under a tenth of the track's).
Reference beats are kept from the excerpt's start to its end or the last note, whichever
is first, and are given in excerpt time (0 = the excerpt's first sample).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

__all__ = ["APT_PACKAGES", "DEFAULT_DEST", "default_dest", "madmom_python", "tempo_map_beats",
           "run_madmom"]

SR = 22050
EXCERPT_S = 60.0
DEFAULT_DEST = Path("~/.cache/audiogan/beat-bench")
DEFAULT_MADMOM_PYTHON = Path("~/.cache/audiogan/madmom-venv/bin/python")
SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
OPENMSX = "/usr/share/games/openttd/baseset/openmsx"
BLUPI = "/usr/share/planetblupi/music"
FOF = "/usr/share/games/fretsonfire/data/songs"
WESNOTH = "/usr/share/games/wesnoth/1.16/data/core/music"
NEXUIZ_PK3 = "/usr/share/games/nexuiz/data/music.pk3"
WARZONE = "/usr/share/games/warzone2100/music/albums"
HYPERROGUE = "/usr/share/hyperrogue/music"
SINGULARITY = "/usr/share/games/singularity/music"
SIMUTRANS = "/usr/share/games/simutrans/music"


@dataclass(frozen=True)
class Source:
    """One piece to excerpt: where it is, which package ships it, and how to reference it."""

    name: str
    kind: str  # "midi" (rendered composition) or "recording"
    package: str
    path: str  # a file, or "archive.pk3!member"
    note: str = ""  # style and anything a reader of the results should know
    chart: str = ""  # a MIDI file whose tempo map is synced to the recording
    extra_audio: tuple[str, ...] = ()  # stems mixed in (Frets on Fire guitar.ogg)
    stated_bpm: float | None = None  # the tempo its publisher states, when it does
    set: str = ""  # the benchmark's set; "midi" or "real" by its kind unless named


def _fof(folder: str, note: str) -> Source:
    base = f"{FOF}/{folder}"
    name = "fof-" + folder.split("/")[-1].lower().replace(" ", "_")
    package = "fretsonfire-songs-" + folder.split("/")[0]
    return Source(name, "recording", package, f"{base}/song.ogg", note, chart=f"{base}/notes.mid",
                  extra_audio=(f"{base}/guitar.ogg",))


# (quick) marks the handful built first by --quick
SOURCES: tuple[Source, ...] = (
    # --- compositions (MIDI, exact beats) ---
    Source("msx-city_blues", "midi", "openttd-openmsx", f"{OPENMSX}/city_blues_redfarn.mid",
           "blues shuffle, 120 (quick)"),
    Source("msx-5432gone", "midi", "openttd-openmsx", f"{OPENMSX}/5432gone_redfarn.mid",
           "5/4, 120 (quick)"),
    Source("msx-boogi_marabi", "midi", "openttd-openmsx", f"{OPENMSX}/boogi_marabi_redfarn.mid",
           "3/4, 153 (quick)"),
    Source("msx-chemistry_lab", "midi", "openttd-openmsx", f"{OPENMSX}/chemistry_lab.mid",
           "no drums, 119 (quick)"),
    Source("msx-midnight_snow_run", "midi", "openttd-openmsx",
           f"{OPENMSX}/midnight_snow_run.mid", "tempo ramps, 120 up (quick)"),
    Source("msx-be_sharp", "midi", "openttd-openmsx", f"{OPENMSX}/be_sharp_bw_redfarn.mid",
           "tempo changes, 109"),
    Source("msx-careless_perc", "midi", "openttd-openmsx",
           f"{OPENMSX}/careless_perc_redfarn.mid", "slow, 64"),
    Source("msx-flying_scotsman", "midi", "openttd-openmsx", f"{OPENMSX}/flying_scotsman.mid",
           "fast, 200"),
    Source("msx-the_hobo", "midi", "openttd-openmsx", f"{OPENMSX}/the_hobo_redfarn.mid",
           "6/4, 126"),
    Source("msx-busy_schedule", "midi", "openttd-openmsx", f"{OPENMSX}/busy_schedule.mid", "134"),
    Source("msx-coconut_run", "midi", "openttd-openmsx", f"{OPENMSX}/coconut_run2.mid", "180"),
    Source("msx-harp_harmony", "midi", "openttd-openmsx", f"{OPENMSX}/harp_harmony.mid", "130"),
    Source("msx-keep_on_rolling", "midi", "openttd-openmsx", f"{OPENMSX}/keep_on_rolling.mid",
           "104"),
    Source("msx-mighty_giant_run", "midi", "openttd-openmsx",
           f"{OPENMSX}/mighty_giant_run.mid", "160"),
    Source("msx-moo", "midi", "openttd-openmsx", f"{OPENMSX}/moo_redfarn.mid", "120"),
    Source("msx-no_work_song", "midi", "openttd-openmsx", f"{OPENMSX}/no_work_song_redfarn.mid",
           "110"),
    Source("msx-say_what", "midi", "openttd-openmsx", f"{OPENMSX}/say_what_redfarn.mid", "143"),
    Source("msx-train_filled_with_cash", "midi", "openttd-openmsx",
           f"{OPENMSX}/train_filled_with_cash.mid", "90"),
    Source("msx-ttsong_iii", "midi", "openttd-openmsx", f"{OPENMSX}/ttsong_iii_imuh3.mid",
           "4/4 with a 2/4 bar, 120"),
    Source("msx-ttsong_iv", "midi", "openttd-openmsx", f"{OPENMSX}/ttsong_iv_imuh3.mid", "80"),
    Source("blupi-004", "midi", "planetblupi-music-midi", f"{BLUPI}/music004.mid", "104"),
    Source("blupi-005", "midi", "planetblupi-music-midi", f"{BLUPI}/music005.mid", "129"),
    Source("blupi-007", "midi", "planetblupi-music-midi", f"{BLUPI}/music007.mid", "140"),
    Source("blupi-008", "midi", "planetblupi-music-midi", f"{BLUPI}/music008.mid", "96"),
    # --- recordings with a synced chart (exact beats) ---
    _fof("muldjord/armygeddon", "metal, 170 (quick)"),
    _fof("sectoid/Feelings", "rock ballad, 95 (quick)"),
    _fof("muldjord/chaos_god", "metal, 170"),
    _fof("muldjord/internal_degeneration", "metal, 190"),
    _fof("muldjord/mutilated_mime", "metal, 180"),
    _fof("sectoid/Escape from chaosland", "rock, 135"),
    _fof("sectoid/Metal madness", "metal, 150"),
    _fof("sectoid/War of freedom", "rock, 140"),
    # --- recordings referenced by madmom ---
    Source("wesnoth-battle_epic", "recording", "wesnoth-1.16-music",
           f"{WESNOTH}/battle-epic.ogg", "orchestral (quick)"),
    Source("wesnoth-knalgan_theme", "recording", "wesnoth-1.16-music",
           f"{WESNOTH}/knalgan_theme.ogg", "orchestral"),
    Source("wesnoth-traveling_minstrels", "recording", "wesnoth-1.16-music",
           f"{WESNOTH}/traveling_minstrels.ogg", "folk band"),
    Source("wesnoth-northerners", "recording", "wesnoth-1.16-music",
           f"{WESNOTH}/northerners.ogg", "orchestral, drums"),
    Source("nexuiz-brainsukker", "recording", "nexuiz-music",
           f"{NEXUIZ_PK3}!sound/cdtracks/brainsukker.ogg", "electronic (quick)"),
    Source("nexuiz-infight", "recording", "nexuiz-music",
           f"{NEXUIZ_PK3}!sound/cdtracks/infight.ogg", "electronic"),
    Source("nexuiz-subcities", "recording", "nexuiz-music",
           f"{NEXUIZ_PK3}!sound/cdtracks/subcities.ogg", "electronic"),
    Source("nexuiz-neuronal_diving", "recording", "nexuiz-music",
           f"{NEXUIZ_PK3}!sound/cdtracks/neuronal-diving.ogg", "electronic"),
    Source("warzone-rainout", "recording", "warzone2100-music",
           f"{WARZONE}/aftermath_soundtrack/track25.opus", "electronic/rock", stated_bpm=130),
    Source("warzone-geiger_ghosts", "recording", "warzone2100-music",
           f"{WARZONE}/legacy_soundtrack/track16.opus", "electronic", stated_bpm=125),
    Source("warzone-blast_zone", "recording", "warzone2100-music",
           f"{WARZONE}/aftermath_soundtrack/track23.opus", "electronic", stated_bpm=100),
    Source("hyperrogue-caribbean", "recording", "hyperrogue-music",
           f"{HYPERROGUE}/hr-savino-caribbean.ogg", "game music"),
    Source("hyperrogue-jungle", "recording", "hyperrogue-music", f"{HYPERROGUE}/hr3-jungle.ogg",
           "game music"),
    Source("singularity-media_threat", "recording", "singularity-music",
           f"{SINGULARITY}/Media Threat.ogg", "electronic"),
    Source("singularity-enemy_unknown", "recording", "singularity-music",
           f"{SINGULARITY}/Enemy Unknown.ogg", "electronic"),
)


def _extra(name: str, package: str, path: str, note: str) -> Source:
    return Source(name, "recording", package, path, note, set="extra")


# 41 more recordings against madmom, added once the tracker's rules and networks were set
# (2026-11-30): a wider sample than the 16 above, which its rules were tuned on
EXTRA: tuple[Source, ...] = (
    *(_extra(f"singularity-{title.lower().replace(' ', '_')}", "singularity-music",
             f"{SINGULARITY}/{title}.ogg", "electronic")
      for title in ("A New Journey", "Aberrations", "Advanced Simulacra", "Awakening",
                    "By-Product", "Coherence", "Deprecation", "Inevitable", "Nebula",
                    "Orbital Elevator")),
    *(_extra(f"hyperrogue-{stem.split('-', 1)[1]}", "hyperrogue-music",
             f"{HYPERROGUE}/{stem}.ogg", "game music")
      for stem in ("hr-domina-hunting", "hr-domina-mountain", "hr-savino-ivory",
                   "hr-savino-ocean", "hr-savino-palace", "hr3-caves", "hr3-crossroads",
                   "hr3-desert", "hr3-hell", "hr3-laboratory", "hr3-motion")),
    *(_extra(f"warzone-{track}", "warzone2100-music", f"{WARZONE}/{album}/{track}.opus",
             "electronic")
      for album, track in (("aftermath_soundtrack", "track17"),
                           ("aftermath_soundtrack", "track19"),
                           ("aftermath_soundtrack", "track21"),
                           ("aftermath_soundtrack", "track24"),
                           ("aftermath_soundtrack", "track26"),
                           ("legacy_soundtrack", "track5"), ("legacy_soundtrack", "track8"),
                           ("legacy_soundtrack", "track11"), ("legacy_soundtrack", "track13"),
                           ("original_soundtrack", "track2"))),
    *(_extra(f"wesnoth-{stem.replace('-', '_')}", "wesnoth-1.16-music", f"{WESNOTH}/{stem}.ogg",
             "orchestral")
      for stem in ("battle", "breaking_the_chains", "casualties_of_war", "elvish-theme",
                   "frantic", "heroes_rite", "loyalists", "the_dangerous_symphony", "vengeful",
                   "weight_of_revenge")),
)

# 51 more MIDI compositions (simutrans-data, all its pieces but two whose key signatures mido
# cannot read), added 2026-12-07, after the rules above were set: pop, jazz, rock and
# ballads written at 75-216 BPM, nine of them at 160 or more. The rule that keeps a fast
# tempo the network hears beat by beat (beats.FAST_BPM) was then found on them.
SIMUTRANS_PIECES = (
    "01-Simutrans-Main-Theme", "02-Gotta-catch-that-train", "03-Sunday-drivers",
    "04-Simutrans-B-Theme", "06-A-busy-day-at-the-depot", "07-Transport-chaos",
    "08-The-journey-home", "09-Simupolitan-Swing", "10-Easy-driving", "11-Stucked-Convoi",
    "12-Steamin-across-the-prairies", "13-Stephenson-blues", "14-Last-journey-of-the-Niagara",
    "15-The-Wayside-Blues", "16-Midnight-Express2", "17-The-Benevolent-Dictators-March",
    "18-Ride-that-train", "19-Rockin-trucker", "20-Last-Trip", "21-Dusty-Eyes",
    "22-Variable-Journeys", "23-Something-for-Silver-Sand", "24-needlessly-striking",
    "25-Float-on-by", "26-Tantalizingly-Unusual", "27-March-Winds", "28-Road-to-Warm-Places",
    "29-Runaway", "31-Courtenay-Bridge", "32-incidental-skies", "33-Journey-to-times-gone-by",
    "34-flyingaway", "35-deep-ride", "36-faded-things", "37-inevitably-engrossed",
    "38-positive-thrill", "39-bangin-mover", "40-alternative", "41-Libertador",
    "42-Stranger-Echoes", "43-Driving-on-the-midnight-highway", "44-Above-the-sky",
    "45-Misty-Forest", "46-House-in-the-station", "47-Salty-Breeze", "48-Techno-movement",
    "49-Last-Sunday", "50-Snowy-Road", "51-Summer-Intersection", "52-Dreamy-Oriental-Nights",
    "53-Where-Thomassons-Lie",
)
SIMUTRANS_SET: tuple[Source, ...] = tuple(
    Source(f"simu-{stem[:2]}", "midi", "simutrans-data", f"{SIMUTRANS}/{stem}.mid",
           stem[3:].replace("-", " ").lower(), set="simutrans")
    for stem in SIMUTRANS_PIECES)
ALL_SOURCES = SOURCES + EXTRA + SIMUTRANS_SET


APT_PACKAGES = ("fluidsynth", "fluid-soundfont-gm",
                *dict.fromkeys(source.package for source in ALL_SOURCES), "mma")


# --- compound meters -----------------------------------------------------------------------

MMA_LIB = Path("/usr/share/mma/lib/stdlib")
COMPOUND_STYLES = ("68march", "68swing", "afro-cuban", "arpeggio68", "ballad68", "blues68")
"""MMA's standard grooves in 6/8: none of them is in the beat network's training data
(`benchmarks/beat_train_data.py` leaves 6/8 out), and no piece of the other sets is in 6/8."""
COMPOUND_PIECES = 18
# chord progressions (scale degrees, one chord a bar), major and minor keys: for the songs
# MMA writes here and in `beat_train_data.py`
PROGRESSIONS = (("I", "V", "vi", "IV"), ("I", "IV", "V", "I"), ("ii", "V", "I", "I"),
                ("I", "vi", "ii", "V"), ("vi", "IV", "I", "V"), ("I", "I", "IV", "I", "V", "IV",
                                                               "I", "V"),
                ("i", "VI", "III", "VII"), ("i", "iv", "v", "i"), ("i", "VII", "VI", "V"))
KEYS = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
_MAJOR = {"I": (0, ""), "ii": (2, "m"), "iii": (4, "m"), "IV": (5, ""), "V": (7, "7"),
          "vi": (9, "m")}
_MINOR = {"i": (0, "m"), "III": (3, ""), "iv": (5, "m"), "v": (7, "m"), "V": (7, "7"),
          "VI": (8, ""), "VII": (10, "")}
_COMPOUND_PROGRESSIONS = tuple(PROGRESSIONS[i] for i in (0, 1, 2, 6, 7))


def chord_name(degree: str, key: int) -> str:
    """The MMA chord of a scale degree in a key (0 = C); "V" is the dominant seventh in
    either mode."""
    offset, quality = (_MAJOR if degree in _MAJOR else _MINOR)[degree]
    return KEYS[(key + offset) % 12] + quality


def _mma_grooves(style: str) -> tuple[int, list[str]]:
    """A 6/8 style's MMA beats a bar (its ``Time``) and its main grooves."""
    text = (MMA_LIB / f"{style}.mma").read_text(errors="replace")
    time = int(re.findall(r"^\s*Time\s+(\d+)", text, flags=re.M | re.I)[0])
    names = re.findall(r"^\s*DefGroove\s+(\S+)", text, flags=re.M | re.I)
    return time, [name for name in names
                  if not re.search(r"intro|end|fill|metronome|break|-44", name, flags=re.I)]


def _true_compound_midi(raw: Path, out: Path, mma_beats_a_bar: int) -> None:
    """MMA's 6/8 MIDI file with a tempo map that says what is played.

    MMA counts a style's bar in its own beats (``Time``: 2 for the march, 6 for the swing)
    and writes each as a MIDI quarter note, while the file's time signature says 6/8; read
    as written, a 6/8 bar would be 3 quarters. Here the ticks per quarter (and the tempo, in
    microseconds a quarter) are scaled so that a bar is 3 quarters: the sound is unchanged,
    and `tempo_map_beats` finds the dotted quarter, two to the bar."""
    mido = _mido()
    midi = mido.MidiFile(str(raw))
    scale = mma_beats_a_bar / 3  # new ticks per quarter / old
    ticks = midi.ticks_per_beat * scale
    if abs(ticks - round(ticks)) > 1e-9:
        raise SystemExit(f"{raw}: {midi.ticks_per_beat} ticks a beat do not divide by 3")
    midi.ticks_per_beat = int(round(ticks))
    for track in midi.tracks:
        for index, msg in enumerate(track):
            if msg.type == "set_tempo":
                track[index] = msg.copy(tempo=int(round(msg.tempo * scale)))
    midi.save(str(out))


def compound_sources(dest: Path) -> tuple[Source, ...]:
    """The compound set: MMA songs in 6/8 (a march, a swing, a blues, a ballad, arpeggios,
    an Afro-Cuban bell pattern) over random progressions, at a dotted quarter of 45-125 BPM,
    written once under ``DEST/compound`` (seeded: the same pieces every time). They are
    accompaniments written here, not compositions, like the synth set; their beats are
    exact."""
    folder = dest / "compound"
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(68)
    sources = []
    for index in range(COMPOUND_PIECES):
        style = COMPOUND_STYLES[index % len(COMPOUND_STYLES)]
        time, grooves = _mma_grooves(style)
        groove = rng.choice(grooves)
        dotted_bpm = math.exp(rng.uniform(math.log(45), math.log(125)))
        progression = rng.choice(_COMPOUND_PROGRESSIONS)
        key = rng.randrange(12)
        bars = int(math.ceil(dotted_bpm / 2)) + 1  # a minute and a bar
        name = f"mma68-{groove.lower()}-{round(dotted_bpm)}"
        midi = folder / f"{name}.mid"
        if not midi.exists():
            # MMA's tempo counts its own beats: `time` of them to two dotted quarters
            lines = [f"Tempo {round(dotted_bpm * time / 2)}", f"Groove {groove}"]
            for bar in range(bars):
                lines.append(f"{bar + 1} {chord_name(progression[bar % len(progression)], key)}")
            with tempfile.TemporaryDirectory() as scratch:
                song, raw = Path(scratch) / "song.mma", Path(scratch) / "raw.mid"
                song.write_text("\n".join(lines) + "\n")
                subprocess.run(["mma", "-f", str(raw), str(song)], check=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                _true_compound_midi(raw, midi, time)
        sources.append(Source(name, "midi", "mma", str(midi), f"6/8 {style}",
                              set="compound"))
    return tuple(sources)


def default_dest() -> Path:
    """Where the data lives: ``$AUDIOGAN_BEAT_BENCH``, else ``~/.cache/audiogan/beat-bench``."""
    return Path(os.environ.get("AUDIOGAN_BEAT_BENCH", DEFAULT_DEST)).expanduser()


def madmom_python() -> Path:
    """The Python of the environment that holds madmom (``$AUDIOGAN_MADMOM_PYTHON``)."""
    return Path(os.environ.get("AUDIOGAN_MADMOM_PYTHON", DEFAULT_MADMOM_PYTHON)).expanduser()


def run_madmom(pairs: list[tuple[Path, Path]], python: Path | None = None) -> None:
    """Run madmom's beat tracker on each ``(wav, text)`` pair whose text file is missing."""
    todo = [(wav, text) for wav, text in pairs if not text.exists()]
    if not todo:
        return
    python = python or madmom_python()
    if not python.exists():
        raise SystemExit(f"madmom's environment is missing ({python}); set it up as "
                         "benchmarks/madmom_beats.py says, or set AUDIOGAN_MADMOM_PYTHON")
    script = Path(__file__).with_name("madmom_beats.py")
    subprocess.run([str(python), str(script), *(f"{wav}:{text}" for wav, text in todo)],
                   check=True)


# --- MIDI ----------------------------------------------------------------------------------

def _mido():
    try:
        import mido
    except ImportError:
        raise SystemExit("beat_data.py reads MIDI files with mido: pip install mido") from None
    return mido


def _tick_to_seconds(midi) -> Callable[[float], float]:
    """A function from absolute ticks to seconds, following every tempo change."""
    mido = _mido()
    changes = sorted({(tick, msg.tempo) for tick, msg in _events(midi) if msg.type == "set_tempo"})
    ticks, tempos = [0], [500000]  # 120 BPM until the first tempo event, as MIDI says
    for tick, tempo in changes:
        if tick == ticks[-1]:
            tempos[-1] = tempo
        else:
            ticks.append(tick)
            tempos.append(tempo)
    starts_s = [0.0]
    for i in range(1, len(ticks)):
        starts_s.append(starts_s[-1] + mido.tick2second(ticks[i] - ticks[i - 1],
                                                        midi.ticks_per_beat, tempos[i - 1]))
    ticks_array = np.array(ticks)

    def seconds(tick: float) -> float:
        i = int(np.searchsorted(ticks_array, tick, side="right")) - 1
        return starts_s[i] + mido.tick2second(tick - ticks[i], midi.ticks_per_beat, tempos[i])

    return seconds


def _events(midi):
    """(absolute tick, message) of every track, in time order."""
    for track in midi.tracks:
        tick = 0
        for msg in track:
            tick += msg.time
            yield tick, msg


def _note_span_ticks(midi) -> tuple[int, int]:
    """Ticks of the first note-on and of the last note-off (or note-on)."""
    notes = [tick for tick, msg in _events(midi) if msg.type in ("note_on", "note_off")]
    onsets = [tick for tick, msg in _events(midi) if msg.type == "note_on" and msg.velocity > 0]
    return min(onsets), max(notes)


def tempo_map_beats(midi_path: str | Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Beat and downbeat times (s) of a MIDI file, up to its last note, and its meters.

    Returns
    -------
    beats_s : np.ndarray, shape ``[n_beats]``, seconds from the file's start
    downbeats_s : np.ndarray, shape ``[n_bars]``
    meters : list of str, the time signatures met (``"4/4"``), in order
    """
    mido = _mido()
    midi = mido.MidiFile(str(midi_path))
    seconds = _tick_to_seconds(midi)
    _, last_tick = _note_span_ticks(midi)
    signatures = sorted({(tick, msg.numerator, msg.denominator)
                         for tick, msg in _events(midi) if msg.type == "time_signature"})
    if not signatures or signatures[0][0] > 0:
        signatures.insert(0, (0, 4, 4))
    beats, downbeats, meters = [], [], []
    for index, (start, numerator, denominator) in enumerate(signatures):
        end = signatures[index + 1][0] if index + 1 < len(signatures) else last_tick + 1
        unit = midi.ticks_per_beat * 4 / denominator
        compound = denominator >= 8 and numerator % 3 == 0 and numerator > 3
        beat_ticks = unit * (3 if compound else 1)
        bar_ticks = unit * numerator
        meters.append(f"{numerator}/{denominator}")
        beats.extend(np.arange(start, end, beat_ticks))
        downbeats.extend(np.arange(start, end, bar_ticks))
    to_s = np.vectorize(seconds)
    return (to_s(np.array(sorted(set(beats)), float)),
            to_s(np.array(sorted(set(downbeats)), float)),
            list(dict.fromkeys(meters)))


def _cut_midi(midi_path: str, end_s: float, out_path: Path) -> None:
    """A copy of the MIDI file that stops at end_s (all notes off), so rendering is short."""
    mido = _mido()
    midi = mido.MidiFile(midi_path)
    seconds = _tick_to_seconds(midi)
    kept = sorted(((tick, msg) for tick, msg in _events(midi)
                   if not msg.is_meta or msg.type in ("set_tempo", "time_signature")),
                  key=lambda pair: pair[0])
    kept = [(tick, msg) for tick, msg in kept if seconds(tick) <= end_s]
    last = kept[-1][0] if kept else 0
    kept += [(last, mido.Message("control_change", channel=c, control=123)) for c in range(16)]
    track, previous = mido.MidiTrack(), 0
    for tick, msg in kept:
        track.append(msg.copy(time=tick - previous))
        previous = tick
    out = mido.MidiFile(type=0, ticks_per_beat=midi.ticks_per_beat)
    out.tracks.append(track)
    out.save(str(out_path))


def _render_midi(midi_path: str, start_s: float, soundfont: Path = SOUNDFONT) -> np.ndarray:
    """Render with fluidsynth, return the mono excerpt [start_s, start_s + 60 s]."""
    with tempfile.TemporaryDirectory() as scratch:
        cut = Path(scratch) / "cut.mid"
        rendered = Path(scratch) / "full.wav"
        _cut_midi(midi_path, start_s + EXCERPT_S, cut)
        subprocess.run(["fluidsynth", "-ni", "-q", "-g", "0.5", "-r", str(SR), "-F",
                        str(rendered), str(soundfont), str(cut)],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        y, sr = soundfile.read(rendered, always_2d=True)
    assert sr == SR, sr
    y = y.mean(axis=1)
    first = int(round(start_s * SR))
    return y[first:first + int(EXCERPT_S * SR)]


# --- recordings ----------------------------------------------------------------------------

def _read_audio(path: str) -> np.ndarray:
    """Mono float samples at 22050 Hz of a file, or of a member of a zip (pk3) archive."""
    import librosa

    if "!" in path:
        archive, member = path.split("!", 1)
        with zipfile.ZipFile(archive) as pk3, tempfile.TemporaryDirectory() as scratch:
            local = pk3.extract(member, scratch)
            samples, sr = soundfile.read(local, always_2d=True)
    else:
        samples, sr = soundfile.read(path, always_2d=True)
    y = samples.mean(axis=1)
    return librosa.resample(y, orig_sr=sr, target_sr=SR) if sr != SR else y


def _recording_start_s(y: np.ndarray) -> float:
    head = y[: int(15 * SR)]
    quiet = np.sqrt(np.mean(head**2)) < 0.1 * np.sqrt(np.mean(y**2))
    return 30.0 if quiet and y.size > (30 + EXCERPT_S) * SR else 0.0


def _excerpt_beats(times_s: np.ndarray, start_s: float, end_s: float) -> np.ndarray:
    keep = (times_s >= start_s - 1e-6) & (times_s <= end_s + 1e-6)
    return np.round(times_s[keep] - start_s, 4)


def _write_audio(path: Path, y: np.ndarray) -> None:
    peak = np.max(np.abs(y)) or 1.0
    partial = path.with_suffix(".part.wav")
    soundfile.write(partial, (0.9 * y / peak).astype(np.float32), SR, subtype="PCM_16")
    os.replace(partial, path)


def build_item(source: Source, dest: Path, soundfont: Path = SOUNDFONT) -> dict:
    """Write one item's excerpt and tempo-map reference (unless present); return its entry.
    A composition is rendered with `soundfont`.

    A madmom reference is left to `main`, which runs madmom once over all items.
    """
    folder = dest / ("midi" if source.kind == "midi" else "real")
    folder.mkdir(parents=True, exist_ok=True)
    audio = folder / f"{source.name}.wav"
    beats_path = folder / f"{source.name}.beats.txt"
    downbeats_path = folder / f"{source.name}.downbeats.txt"
    info_path = folder / f"{source.name}.json"
    if audio.exists() and beats_path.exists() and info_path.exists():
        return json.loads(info_path.read_text())

    entry = {"name": source.name,
             "set": source.set or ("midi" if source.kind == "midi" else "real"),
             "kind": source.kind, "package": source.package, "source": source.path,
             "note": source.note.replace(" (quick)", "").replace("(quick)", ""),
             "audio": str(audio), "beats": str(beats_path), "downbeats": None,
             "reference": "madmom", "meters": None, "stated_bpm": source.stated_bpm}
    chart = source.path if source.kind == "midi" else source.chart
    if source.kind == "midi":
        midi = _mido().MidiFile(source.path)
        first_tick, last_tick = _note_span_ticks(midi)
        seconds = _tick_to_seconds(midi)
        start_s = max(0.0, seconds(first_tick) - 0.5)
        end_s = min(start_s + EXCERPT_S, seconds(last_tick))
        y = _render_midi(source.path, start_s, soundfont)
    else:
        y = _read_audio(source.path)
        for extra in source.extra_audio:
            stem = _read_audio(extra)
            n = min(y.size, stem.size)
            y = y[:n] + stem[:n]
        start_s = _recording_start_s(y)
        y = y[int(start_s * SR): int((start_s + EXCERPT_S) * SR)]
        end_s = start_s + y.size / SR
    _write_audio(audio, y)
    entry.update(start_s=round(start_s, 3), seconds=round(y.size / SR, 3),
                 sha1=hashlib.sha1(audio.read_bytes()).hexdigest()[:12])
    if chart:
        beats_s, downbeats_s, meters = tempo_map_beats(chart)
        np.savetxt(beats_path, _excerpt_beats(beats_s, start_s, end_s), fmt="%.4f")
        np.savetxt(downbeats_path, _excerpt_beats(downbeats_s, start_s, end_s), fmt="%.4f")
        entry.update(reference="tempo-map", downbeats=str(downbeats_path), meters=meters)
    return entry


def _madmom_check_path(entry: dict) -> Path:
    return Path(entry["audio"]).with_suffix(".madmom.txt")


def _check_chart(entry: dict) -> None:
    """Keep a chart's tempo map only where madmom locks onto its grid somewhere.

    A chart's notes are synced to the recording, but its bar lines need not be: an author
    may have laid the grid half a beat off the music. madmom is the independent witness,
    though it may itself tap at half tempo or on the off-beat for a while (it does in the
    intros of two of these songs). So the grid is trusted when, in some 15 s window (5 s apart), at
    least 80 % of madmom's beats lie within 70 ms of a chart beat (any metrical level
    whose beats are chart beats); otherwise madmom is the reference, the chart's beats are
    kept as ``<name>.chart-beats.txt``, and the entry says why. ``chart_check`` records
    madmom's F against the chart, its median offset and the best window's agreement.
    """
    import mir_eval

    if entry.get("chart_check"):
        return
    chart_beats = np.loadtxt(entry["beats"], ndmin=1)
    madmom_beats = np.loadtxt(_madmom_check_path(entry), ndmin=1)
    distance = np.array([np.min(np.abs(chart_beats - b)) for b in madmom_beats])
    offsets = [b - chart_beats[np.argmin(np.abs(chart_beats - b))] for b in madmom_beats]
    windows = [distance[(madmom_beats >= t) & (madmom_beats < t + 15)] for t in range(0, 46, 5)]
    best = max((float(np.mean(w <= 0.07)) for w in windows if w.size), default=0.0)
    entry["chart_check"] = {
        "madmom_f": round(float(mir_eval.beat.f_measure(chart_beats, madmom_beats, 0.07)), 3),
        "madmom_offset_ms": round(1000 * float(np.median(offsets))),
        "best_window_on_grid": round(best, 3)}
    if best < 0.8:
        kept = Path(entry["beats"]).with_name(f"{entry['name']}.chart-beats.txt")
        os.replace(entry["beats"], kept)
        shutil.copyfile(_madmom_check_path(entry), entry["beats"])
        entry.update(reference="madmom", downbeats=None,
                     note=entry["note"] + "; chart grid off madmom's throughout, madmom used")


def missing_packages() -> list[str]:
    """Packages whose files this script needs but does not find."""
    missing = [] if shutil.which("fluidsynth") else ["fluidsynth"]
    if not shutil.which("mma") or not MMA_LIB.exists():
        missing.append("mma")
    if not SOUNDFONT.exists():
        missing.append("fluid-soundfont-gm")
    for source in ALL_SOURCES:
        path = source.path.split("!")[0]
        if not Path(path).exists() and source.package not in missing:
            missing.append(source.package)
    return missing


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=None,
                        help="data folder (default $AUDIOGAN_BEAT_BENCH or "
                             "~/.cache/audiogan/beat-bench)")
    parser.add_argument("--quick", action="store_true",
                        help="only a handful of items, to start measuring at once")
    parser.add_argument("--madmom-python", type=Path, default=None,
                        help="Python of the madmom environment ($AUDIOGAN_MADMOM_PYTHON)")
    parser.add_argument("--soundfont", type=Path, default=SOUNDFONT,
                        help="the General MIDI soundfont the compositions are rendered with "
                             "(default FluidR3); another one wants a --dest of its own")
    parser.add_argument("--compositions", action="store_true",
                        help="only the compositions (the midi, simutrans and compound sets): "
                             "no recordings, so no madmom")
    args = parser.parse_args()
    if not args.soundfont.exists():
        sys.exit(f"no soundfont at {args.soundfont}: pass the path of an .sf2 or .sf3 file")
    if args.madmom_python:
        os.environ["AUDIOGAN_MADMOM_PYTHON"] = str(args.madmom_python)
    dest = (args.dest or default_dest()).expanduser()
    missing = missing_packages()
    if missing:
        sys.exit("missing Debian packages; install them with\n"
                 f"  sudo apt-get install {' '.join(missing)}\n"
                 f"(all of them: sudo apt-get install {' '.join(APT_PACKAGES)})")
    sources = ([s for s in SOURCES if "(quick)" in s.note] if args.quick
               else [*ALL_SOURCES, *compound_sources(dest)])
    if args.compositions:
        sources = [s for s in sources if s.kind == "midi"]
    entries = []
    for source in sources:
        entry = build_item(source, dest, args.soundfont)
        entries.append(entry)
        print(f"{entry['name']:<32} {entry['reference']:<10} {entry['audio']}", flush=True)
    charted = [e for e in entries if e["kind"] == "recording" and e["reference"] == "tempo-map"]
    run_madmom([(Path(e["audio"]), Path(e["beats"])) for e in entries
                if e["reference"] == "madmom"]
               + [(Path(e["audio"]), _madmom_check_path(e)) for e in charted])
    for entry in charted:
        _check_chart(entry)
    for entry in entries:
        Path(entry["audio"]).with_suffix(".json").write_text(json.dumps(entry, indent=1))
    manifest = dest / "manifest.json"
    partial = manifest.with_suffix(".part")
    partial.write_text(json.dumps({"excerpt_s": EXCERPT_S, "sr": SR, "items": entries},
                                  indent=1))
    os.replace(partial, manifest)
    print(f"{len(entries)} items; manifest: {manifest}")


if __name__ == "__main__":
    main()
