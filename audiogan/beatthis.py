"""The Beat This! beat tracker (optional: ``pip install "audiogan[beats]"``).

Beat This! (Foscarin, Schlüter and Widmer, ISMIR 2024; CPJKU, MIT-licensed code and weights)
is a transformer that reads a log-mel spectrogram and marks beats and downbeats. This module
runs its pretrained model on a song and returns an `audiogan.beats.BeatGrid`, so it can stand
in for audiogan's own tracker (``--beat-tracker beat_this``).

- **Checkpoint**: ``final0`` (the package's default) downloads once into
  ``~/.cache/audiogan/beat_this/`` (``AUDIOGAN_CACHE`` moves it); one that the package itself
  downloaded into torch's hub cache is used too; ``--beat-model PATH`` names a local one.
  Checkpoints are always read with ``torch.load(weights_only=True)``: no pickled code runs
  (the package's own download path does not promise that, so the download is done here).
- **Model**: the package's `BeatThis` class, built from the checkpoint's hyperparameters as
  `beat_this.inference.load_model` does.
- **Inference**: the package's log-mel spectrogram and chunked prediction
  (`beat_this.preprocessing.LogMelSpect`, `beat_this.inference.split_predict_aggregate`) and
  its minimal postprocessing (peaks of the beat and downbeat logits, downbeats moved to the
  nearest beat; the DBN option needs madmom and is not used). `beat_this.inference` imports
  torchaudio, whose wheels are built for one torch version and one CUDA build; where it does
  not load, the same two steps run from `_log_mel` and `_split_predict_aggregate` below.

Only this module imports ``beat_this``; it and torch are imported when a function needs them.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import numpy as np

from audiogan.beats import BEAT_TRACKERS as TRACKERS
from audiogan.beats import BeatGrid
from audiogan.errors import ConfigError, ModelLoadError
from audiogan.files import cache_dir, download

__all__ = ["CHECKPOINT", "CHECKPOINT_URL", "TRACKERS", "beat_grid", "cached_checkpoint",
           "fetch_checkpoint", "installed", "load_beat_model", "make_random_checkpoint",
           "resolve_tracker"]

CHECKPOINT = "final0"
# as beat_this.inference.CHECKPOINT_URL (that module cannot be imported where torchaudio fails)
CHECKPOINT_URL = f"https://cloud.cp.jku.at/public.php/dav/files/7ik4RrBKTS273gp/{CHECKPOINT}.ckpt"
FILE_NAME = f"beat_this-{CHECKPOINT}.ckpt"  # the package's own name for it in torch's hub cache
SAMPLE_RATE = 22050
FPS = 50  # spectrogram frames (and beat positions) per second: hop 441 at 22050 Hz
INSTALL = 'pip install "audiogan[beats]"'
_HINT = ("give a .ckpt from the beat_this releases, or leave --beat-model out to use the "
         "pretrained one")

Progress = Callable[[int, int | None], None]


def installed() -> bool:
    """Whether the beat-this package can be imported (looked up without importing it)."""
    try:
        return importlib.util.find_spec("beat_this") is not None
    except (ImportError, ValueError):  # a broken or blocked module counts as missing
        return False


def _require_package() -> None:
    """Import what this module uses of beat_this, or one line that says how to get it."""
    try:
        import beat_this.model.beat_tracker  # noqa: F401
        import beat_this.model.postprocessor  # noqa: F401
    except ImportError as exc:
        missing = exc.name or ""
        detail = f" ({missing} is missing)" if missing.split(".")[0] != "beat_this" else ""
        raise ConfigError(f"--beat-tracker beat_this needs the beat-this package{detail}: "
                          f"{INSTALL}, or use --beat-tracker audiogan") from None


def cached_checkpoint() -> Path | None:
    """The pretrained checkpoint if it is on this machine (audiogan's cache, else the
    package's own in torch's hub cache); None if it would have to be downloaded."""
    ours = cache_dir() / "beat_this" / FILE_NAME
    if ours.is_file():
        return ours
    if installed():
        import torch.hub

        theirs = Path(torch.hub.get_dir()) / "checkpoints" / FILE_NAME
        if theirs.is_file():
            return theirs
    return None


def fetch_checkpoint(*, progress: Progress | None = None) -> Path:
    """The pretrained checkpoint, downloaded into audiogan's cache on first use."""
    found = cached_checkpoint()
    if found is not None:
        return found
    target = cache_dir() / "beat_this" / FILE_NAME
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelLoadError(f"cannot create the beat model cache {target.parent} "
                             f"({exc.strerror}); set AUDIOGAN_CACHE to a writable folder"
                             ) from None
    try:
        download(CHECKPOINT_URL, target, progress, check=functools.partial(
            _read_checkpoint, what=f"the download of {CHECKPOINT_URL}",
            hint="try again, or use --beat-tracker audiogan"))
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ModelLoadError(
            f"could not download the Beat This! checkpoint ({reason}); check the network, or "
            f"fetch {CHECKPOINT_URL} and pass --beat-model PATH, or use --beat-tracker "
            "audiogan") from None
    return target


def resolve_tracker(beat_tracker: str = "auto", beat_model: str | Path | None = None, *,
                    progress: Progress | None = None) -> tuple[str, Path | None]:
    """Which tracker runs, and on which checkpoint: ``("beat_this", path)`` or
    ``("audiogan", None)``.

    ``auto`` picks beat_this when the package is installed and a checkpoint is on this
    machine (`beat_model`, or the cached pretrained one), else audiogan's own tracker; it
    never downloads. A `beat_model` means beat_this. ``beat_this`` downloads the pretrained
    checkpoint when it is not cached and no `beat_model` is given.
    """
    if beat_tracker not in TRACKERS:
        raise ConfigError(f"beat_tracker must be auto, audiogan or beat_this, got "
                          f"{beat_tracker!r}")
    if beat_tracker == "audiogan":
        if beat_model is not None:
            raise ConfigError("--beat-model is a Beat This! checkpoint: use it with "
                              "--beat-tracker beat_this (or auto), or leave it out")
        return "audiogan", None
    if beat_model is not None:
        path = Path(beat_model).expanduser()
        if not path.is_file():
            raise ModelLoadError(f"--beat-model {path}: no such file; give the path of a Beat "
                                 "This! checkpoint (.ckpt), or leave --beat-model out to use "
                                 "the pretrained one")
        _require_package()
        return "beat_this", path
    if beat_tracker == "auto":
        if not installed():
            return "audiogan", None
        found = cached_checkpoint()
        return ("beat_this", found) if found is not None else ("audiogan", None)
    _require_package()
    return "beat_this", fetch_checkpoint(progress=progress)


def _brief(exc: BaseException, limit: int = 160) -> str:
    """An exception as one short line: its kind and the start of its message."""
    message = " ".join(str(exc).split())
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _read_checkpoint(path: Path, *, what: str | None = None, hint: str = _HINT) -> dict:
    """The checkpoint's dictionary, unpickled safely (tensors and plain containers only)."""
    import torch

    what = what or f"--beat-model {path}"
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - a file that is no checkpoint fails in many ways
        raise ModelLoadError(f"{what} is not a readable Beat This! checkpoint ({_brief(exc)}); "
                             f"{hint}") from None
    if (not isinstance(checkpoint, dict) or "state_dict" not in checkpoint
            or "hyper_parameters" not in checkpoint):
        raise ModelLoadError(f"{what} is not a Beat This! checkpoint (it has no state_dict and "
                             f"hyper_parameters); {hint}")
    return checkpoint


@functools.lru_cache(maxsize=2)
def _load(path: str, stamp: tuple[int, int], device: str):
    from beat_this.model.beat_tracker import BeatThis
    from beat_this.utils import replace_state_dict_key

    checkpoint = _read_checkpoint(Path(path))
    # as beat_this.inference.load_model: the hyperparameters that BeatThis takes, and the
    # Lightning module's "model." prefix taken off the weights
    known = set(inspect.signature(BeatThis).parameters)
    hparams = {k: v for k, v in dict(checkpoint["hyper_parameters"]).items() if k in known}
    state_dict = replace_state_dict_key(dict(checkpoint["state_dict"]), "model.", "")
    try:
        model = BeatThis(**hparams)
        model.load_state_dict(state_dict)
    except (RuntimeError, TypeError, ValueError, AssertionError) as exc:
        raise ModelLoadError(f"--beat-model {path} does not fit the Beat This! model "
                             f"({_brief(exc)}); {_HINT}") from None
    return model.to(device).eval()


def _device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_beat_model(path: str | Path, device: str | None = None):
    """The `beat_this` model in the checkpoint at `path`, in eval mode on `device` (cuda if
    available, else cpu); kept for the next call with the same unchanged file."""
    _require_package()
    path = Path(path).expanduser()
    try:
        stat = path.stat()
    except OSError:
        raise ModelLoadError(f"--beat-model {path}: no such file; give the path of a Beat "
                             "This! checkpoint (.ckpt), or leave --beat-model out to use the "
                             "pretrained one") from None
    return _load(str(path), (stat.st_size, stat.st_mtime_ns), device or _device())


def make_random_checkpoint(path: str | Path, *, seed: int = 0, **hparams) -> Path:
    """Write a randomly initialised Beat This! model as a checkpoint in the released format
    (``{"hyper_parameters": ..., "state_dict": {"model.*": ...}}``), for tests and trials.

    `hparams` go to `beat_this.model.beat_tracker.BeatThis` (e.g. ``transformer_dim=32,
    n_layers=1, head_dim=16, stem_dim=16`` for a tiny one); its defaults are the real size.
    """
    _require_package()
    import torch
    from beat_this.model.beat_tracker import BeatThis

    torch.manual_seed(seed)
    model = BeatThis(**hparams)
    state_dict = {f"model.{k}": v for k, v in model.state_dict().items()}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"hyper_parameters": {"fps": FPS, **hparams}, "state_dict": state_dict}, path)
    return path


def _log_mel(signal, device: str):
    """beat_this.preprocessing.LogMelSpect without torchaudio: a centred STFT (hann, 1024,
    hop 441) normalised by the square root of the frame length, magnitudes through 128
    slaney mel bands from 30 Hz to 11 kHz, then ``log1p(1000 x)``; shape (frames, 128)."""
    import librosa
    import torch

    n_fft, hop = 1024, 441
    window = torch.hann_window(n_fft, device=device)
    spectrum = torch.stft(signal, n_fft, hop_length=hop, win_length=n_fft, window=window,
                          center=True, pad_mode="reflect", normalized=True, onesided=True,
                          return_complex=True)
    magnitude = spectrum.abs()
    bands = torch.from_numpy(librosa.filters.mel(sr=SAMPLE_RATE, n_fft=n_fft, n_mels=128,
                                                 fmin=30.0, fmax=11000.0, htk=False,
                                                 norm=None)).to(device)
    return torch.log1p(1000 * (bands @ magnitude).T)


def _split_predict_aggregate(spect, chunk_size: int, border_size: int, overlap_mode: str,
                             model):
    """beat_this.inference.split_predict_aggregate: the model over chunks of `chunk_size`
    frames that overlap by `border_size` (whose predictions are dropped), the first chunk's
    prediction kept where two overlap; logits of shape (frames,) for beat and downbeat."""
    import torch
    import torch.nn.functional as F

    if overlap_mode != "keep_first":
        raise ValueError(f"overlap_mode {overlap_mode!r} is not supported here")
    n = spect.shape[0]
    starts = np.arange(-border_size, n - border_size, chunk_size - 2 * border_size)
    if n > chunk_size - 2 * border_size:
        starts[-1] = n - (chunk_size - border_size)
    beat = torch.full((n,), -1000.0, device=spect.device)
    downbeat = torch.full((n,), -1000.0, device=spect.device)
    for start in reversed(starts.tolist()):  # earlier chunks overwrite later ones
        piece = spect[max(start, 0):min(start + chunk_size, n)]
        left = max(0, -start)
        right = max(0, min(border_size, start + chunk_size - n))
        piece = F.pad(piece, (0, 0, left, right), "constant", 0) if left or right else piece
        prediction = model(piece.unsqueeze(0))
        inner = slice(border_size, -border_size) if border_size else slice(None)
        first, last = start + border_size, start + chunk_size - border_size
        beat[first:last] = prediction["beat"][0][inner]
        downbeat[first:last] = prediction["downbeat"][0][inner]
    return {"beat": beat, "downbeat": downbeat}


@functools.cache
def _steps() -> tuple[Callable, Callable]:
    """(spectrogram of a signal on a device, chunked prediction): the package's own where
    torchaudio loads, else the equivalents above."""
    try:
        from beat_this.inference import split_predict_aggregate
        from beat_this.preprocessing import LogMelSpect
    except (ImportError, OSError):  # torchaudio built for another torch or CUDA
        return _log_mel, _split_predict_aggregate

    def log_mel(signal, device: str):
        return LogMelSpect(device=device)(signal)

    return log_mel, split_predict_aggregate


def _grid(beats_s: np.ndarray, downbeats_s: np.ndarray) -> BeatGrid:
    """A `BeatGrid` from beat and downbeat times: the meter is the most common number of
    beats between two downbeats (4 when fewer than two downbeats say)."""
    beats_s = np.unique(np.asarray(beats_s, dtype=np.float64))
    if len(beats_s) == 0:
        return BeatGrid(np.zeros(0), np.zeros(0), 0, 0.0)
    # the postprocessing moves every downbeat onto its nearest beat; make sure of it
    downbeats_s = np.asarray(downbeats_s, dtype=np.float64)
    nearest = np.abs(beats_s[None, :] - downbeats_s[:, None]).argmin(axis=1)
    downbeats_s = np.unique(beats_s[nearest]) if len(downbeats_s) else np.zeros(0)
    meter = 4
    if len(downbeats_s) >= 2:
        counts = np.diff(np.searchsorted(beats_s, downbeats_s))
        meter = int(np.bincount(counts).argmax())
    tempo = float(np.median(60.0 / np.diff(beats_s))) if len(beats_s) > 1 else 0.0
    return BeatGrid(beats_s=beats_s, downbeats_s=downbeats_s, meter=meter, tempo_bpm=tempo)


def beat_grid(y: np.ndarray, sr: int, *, checkpoint: str | Path,
              device: str | None = None) -> BeatGrid:
    """Beats, downbeats, meter and tempo of the mono signal `y` (rate `sr`) by Beat This!.

    Parameters
    ----------
    y : ndarray, shape (n,)
        The song, mono; resampled to 22050 Hz if `sr` differs.
    checkpoint : path
        A Beat This! checkpoint (see `resolve_tracker` and `fetch_checkpoint`).
    device : str, optional
        ``cuda`` or ``cpu`` (default: cuda if available).

    Returns
    -------
    BeatGrid
        Beat times (s, increasing; resolution 20 ms), the downbeats among them, the meter
        and the median tempo.
    """
    import torch
    from beat_this.model.postprocessor import Postprocessor

    device = device or _device()
    model = load_beat_model(checkpoint, device)
    y = np.asarray(y, dtype=np.float32).reshape(-1)
    if sr != SAMPLE_RATE:
        import soxr

        y = soxr.resample(y, in_rate=sr, out_rate=SAMPLE_RATE).astype(np.float32)
    if len(y) <= 1024 or not np.any(y):  # no whole frame, or silence: nothing to track
        return BeatGrid(np.zeros(0), np.zeros(0), 0, 0.0)
    log_mel, predict = _steps()
    with torch.inference_mode():
        spect = log_mel(torch.from_numpy(y).to(device), device)
        logits = predict(spect, chunk_size=1500, border_size=6, overlap_mode="keep_first",
                         model=model)
        beats_s, downbeats_s = Postprocessor(type="minimal", fps=FPS)(
            logits["beat"].float(), logits["downbeat"].float())
    return _grid(np.asarray(beats_s), np.asarray(downbeats_s))
