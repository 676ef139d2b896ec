"""Train the learned beat activation (`audiogan.beatnet`) on the set `beat_train_data.py` built.

    python benchmarks/train_beatnet.py [--data DIR ...] [--steps N] [--seed S] --out net-S.npz
    python benchmarks/train_beatnet.py --init audiogan/data/beatnet.npz --member 0 ...
    python benchmarks/train_beatnet.py --combine net-0.npz net-1.npz ... \
        --out audiogan/data/beatnet.npz

CPU is enough: the network has about 40 000 weights, and 3000 steps of 16 crops of 14 s take
some 20 minutes on two cores. One item in ten (by a hash of its name) is held out to watch
the loss. The numpy network in `audiogan.beatnet` runs the weights this writes; a test
checks that both give the same numbers.

Training (after Boeck and Davies): binary cross-entropy against beat targets one hop wide,
with the hops either side at half weight; crops are stretched in time by up to 15 % (the
beats with them), and some get a noise floor or a band of frequencies masked, so the network
does not lean on one soundfont's exact timbre. With `--rooms` a share of the crops is also
played in a room and mastered (`room`: reverberation, EQ, compression), and with
`--offbeats` given loud hits between the beats (`offbeat_hits`); both were tried and are
not in the shipped networks (benchmarks/BEATS.md, "Rooms" and "Hits between the beats").
"""

from __future__ import annotations

import argparse
import hashlib
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from scipy.signal import lfilter
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from audiogan import beatnet  # noqa: E402

DEFAULT_DATA = Path("~/.cache/audiogan/beat-train")


class BeatNet(nn.Module):
    """The torch twin of `audiogan.beatnet._forward` (same names, same shapes)."""

    def __init__(self, channels: int = beatnet.CHANNELS, dropout: float = 0.1,
                 causal: bool = False):
        super().__init__()
        # causal: each hop from the hops up to it alone, the padding all before the first
        self.causal = causal
        self.conv1 = nn.Conv2d(2, channels, (3, 3), padding=(0 if causal else 1, 1))
        self.conv2 = nn.Conv2d(channels, channels, (3, 3), padding=(0 if causal else 1, 1))
        self.conv3 = nn.Conv2d(channels, channels, (1, 4))
        self.tcn = nn.ModuleList()
        for dilation in beatnet.DILATIONS:
            block = nn.Module()
            block.dilated = nn.Conv1d(channels, channels, beatnet.KERNEL, dilation=dilation,
                                      padding=0 if causal else (beatnet.KERNEL // 2) * dilation)
            block.reach = (beatnet.KERNEL - 1) * dilation
            block.mix = nn.Conv1d(channels, channels, 1)
            self.tcn.append(block)
        self.head = nn.Conv1d(channels, 2, 1)
        self.dropout = nn.Dropout(dropout)
        self.elu = nn.ELU()

    def _past(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, T, F) with two zero hops before the first, for a causal 3x3 convolution."""
        return nn.functional.pad(x, (0, 0, 2, 0)) if self.causal else x

    def forward(self, planes: torch.Tensor) -> torch.Tensor:
        """planes (B, 2, T, N_MELS) -> logits (B, 2, T)."""
        x = nn.functional.max_pool2d(self.elu(self.conv1(self._past(planes))),
                                     (1, beatnet.POOL[0]))
        x = nn.functional.max_pool2d(self.elu(self.conv2(self._past(x))), (1, beatnet.POOL[1]))
        x = self.dropout(self.elu(self.conv3(x))[..., 0])
        for block in self.tcn:
            inner = nn.functional.pad(x, (block.reach, 0)) if self.causal else x
            x = x + block.mix(self.dropout(self.elu(block.dilated(inner))))
        return self.head(self.elu(x))


def held_out(name: str) -> bool:
    return int(hashlib.sha1(name.encode()).hexdigest(), 16) % 10 == 0


def load_items(folder: Path, causal: bool = False) -> list[dict]:
    items = []
    for path in sorted(folder.glob("*.npz")):
        if path.name.endswith(".part.npz"):
            continue
        with np.load(path, allow_pickle=False) as data:
            planes = beatnet.normalise(data["mel_db"], causal=causal)
            items.append({"name": path.stem, "planes": planes, "fps": float(data["fps"]),
                          "beats": data["beats"], "downbeats": data["downbeats"]})
    return items


def _targets(times_s: np.ndarray, fps: float, start: float, scale: float, length: int
             ) -> np.ndarray:
    """Targets for a crop that starts at hop `start` and takes `scale` source hops a hop."""
    target = np.zeros(length, np.float32)
    frames = (np.asarray(times_s) * fps - start) / scale
    frames = np.round(frames[(frames > -1.5) & (frames < length + 0.5)]).astype(int)
    for offset, value in ((-1, 0.5), (1, 0.5), (0, 1.0)):
        at = frames + offset
        at = at[(at >= 0) & (at < length)]
        target[at] = np.maximum(target[at], value)
    return target


def room(level: np.ndarray, fps: float, rng: np.random.Generator) -> np.ndarray:
    """The level plane (hops, bands; units of 20 dB) as if played in a room and mastered:
    a reverberant tail (RT60 0.3-2.5 s, shorter in the high bands, 10 dB over to 3 dB
    under the direct sound), a smooth random EQ of up to 6 dB, and some of the slow
    swells levelled as a compressor would. Applied in the power domain, where a diffuse
    tail adds its decaying energy to each band."""
    bands = level.shape[1]
    power = 10.0 ** (2.0 * level.astype(np.float64))
    if rng.random() < 0.7:
        rt60 = rng.uniform(0.3, 2.5) * np.linspace(1.0, rng.uniform(0.3, 0.8), bands)
        decay = 10.0 ** (-6.0 / (rt60 * fps))
        gain = 10.0 ** (rng.uniform(-10.0, 3.0) / 10.0)
        tail = np.stack([lfilter([1.0 - a], [1.0, -a], power[:, k])
                         for k, a in enumerate(decay)], axis=1)
        # the tail starts a hop after the sound (a pre-delay)
        power = power + gain * np.vstack([np.zeros((1, bands)), tail[:-1]])
    out = np.log10(np.maximum(power, 1e-12)) / 2.0
    if rng.random() < 0.7:
        curve = sum(rng.normal(0, 3.0 / (order + 1)) * np.cos(np.pi * order
                                                            * np.linspace(0, 1, bands))
                    for order in range(1, 4))
        out = out + np.clip(curve, -6.0, 6.0)[None, :] / 20.0
    if rng.random() < 0.5:
        loud = np.log10(np.mean(10.0 ** (2.0 * out), axis=1)) / 2.0
        width = max(1, int(round(0.4 * fps)))
        slow = np.convolve(np.pad(loud, width // 2, mode="edge"), np.ones(width) / width,
                           mode="valid")[:len(loud)]
        out = out - rng.uniform(0.2, 0.6) * (slow - slow.max())[:, None]
    out = out - (np.percentile(out, 99) - np.percentile(level, 99))
    return np.clip(out, -4.0, 1.0).astype(np.float32)


def offbeat_hits(level: np.ndarray, offbeats: np.ndarray, rng: np.random.Generator
                 ) -> np.ndarray:
    """The level plane (hops, bands; units of 20 dB) with a loud hit on each of the hops
    `offbeats`, halfway between beats: a hi-hat, a guitar skank or an off-beat bass as many
    recordings have, up to as loud as the loudest frames, in a random band, decaying over a
    few hops. The beats stay where they were, so that the network learns to find them under
    accents that fall between them."""
    hops, bands = level.shape
    low = int(rng.integers(0, bands - 8))
    high = int(rng.integers(low + 8, bands + 1))
    shape = np.zeros(bands)
    shape[low:high] = np.hanning(high - low + 2)[1:-1] ** 0.5
    peak = np.percentile(level, 99) - rng.uniform(0.0, 0.75)  # 0-15 dB under the loudest
    decay = rng.uniform(1.5, 6.0)  # hops to fall by 20 dB
    out = level.copy()
    for hop in offbeats[(offbeats >= 0) & (offbeats < hops)].astype(int):
        span = np.arange(hop, min(hops, hop + int(4 * decay)))
        hit = peak - (span - hop)[:, None] / decay + 4.0 * (shape[None, :] - 1.0)
        out[span] = np.logaddexp(out[span] * 4.605, hit * 4.605) / 4.605  # power sum
    return out.astype(np.float32)


def crop(item: dict, length: int, rng: np.random.Generator, augment: bool,
         rooms: float = 0.0, offbeats: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    planes, fps = item["planes"], item["fps"]
    n = planes.shape[1]
    scale = float(np.exp(rng.uniform(np.log(0.87), np.log(1.15)))) if augment else 1.0
    span = length * scale
    start = rng.uniform(0, max(0.0, n - span)) if n > span else 0.0
    source = start + np.arange(length) * scale
    index = np.clip(np.round(source).astype(int), 0, n - 1)
    x = planes[:, index].copy()
    x[:, source > n - 1] = 0.0
    x[0][source > n - 1] = -4.0
    if augment:
        if rng.random() < offbeats:
            beats = (np.asarray(item["beats"]) * fps - start) / scale
            x[0] = offbeat_hits(x[0], np.round((beats[:-1] + beats[1:]) / 2), rng)
            x[1] = np.maximum(np.diff(x[0], axis=0, prepend=x[0][:1]), 0.0)
        if rng.random() < rooms:
            x[0] = room(x[0], fps, rng)
            x[1] = np.maximum(np.diff(x[0], axis=0, prepend=x[0][:1]), 0.0)
        if rng.random() < 0.3:  # a noise floor some 10-40 dB under the loud frames
            floor = rng.uniform(-2.0, -0.5) + np.cumsum(rng.normal(0, 0.05, x.shape[2]))
            level = np.logaddexp(x[0] * 20 / 4.34, floor * 20 / 4.34) * 4.34 / 20
            level += rng.normal(0, 0.05, level.shape)
            x[0] = level
            x[1] = np.maximum(np.diff(level, axis=0, prepend=level[:1]), 0.0)
        if rng.random() < 0.3:  # a band masked
            width = rng.integers(4, 16)
            low = rng.integers(0, x.shape[2] - width)
            x[0, :, low:low + width] = x[0].min()
            x[1, :, low:low + width] = 0.0
    y = np.stack([_targets(item["beats"], fps, start, scale, length),
                  _targets(item["downbeats"], fps, start, scale, length)])
    return x, y


def evaluate(model: nn.Module, items: list[dict]) -> float:
    model.eval()
    losses = []
    with torch.no_grad():
        for item in items:
            x = torch.from_numpy(item["planes"][None])
            beats = _targets(item["beats"], item["fps"], 0, 1.0, x.shape[2])
            losses.append(nn.functional.binary_cross_entropy_with_logits(
                model(x)[0, 0], torch.from_numpy(beats)).item())
    model.train()
    return float(np.mean(losses))


def save(model: nn.Module, path: Path) -> None:
    """One network's weights, as member 0 of an ensemble file."""
    weights = {f"m0.{name}": value.detach().numpy().astype(np.float32)
               for name, value in model.state_dict().items()}
    partial = path.with_suffix(".part.npz")
    np.savez(partial, **weights)
    partial.replace(path)


def combine(paths: list[Path], out: Path) -> None:
    """The networks in `paths` (each a network or an ensemble) as the members of one
    ensemble file."""
    members = [member for path in paths for member in beatnet.load_weights(path)]
    arrays = {f"m{index}.{name}": value
              for index, member in enumerate(members) for name, value in member.items()}
    partial = out.with_suffix(".part.npz")
    np.savez(partial, **arrays)
    partial.replace(out)
    print(f"wrote {out}: {len(members)} networks")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, nargs="+", default=[DEFAULT_DATA],
                        help="folders of items (beat_train_data.py, beat_module_data.py)")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--length", type=int, default=1200, help="hops a crop")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--report", type=int, default=100,
                        help="steps between held-out losses (and saves)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--rooms", type=float, default=0.0,
                        help="share of crops played in a room and mastered (`room`)")
    parser.add_argument("--offbeats", type=float, default=0.0,
                        help="share of crops given loud hits between the beats "
                             "(`offbeat_hits`)")
    parser.add_argument("--causal", action="store_true",
                        help="a causal network (each hop from the hops up to it), for the "
                             "live tracker: its weights go to beatnet-causal.npz")
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).resolve().parents[1] / "audiogan" / "data"
                        / beatnet.WEIGHTS)
    parser.add_argument("--init", type=Path, default=None, metavar="NPZ",
                        help="start from this network (an ensemble file's member --member) "
                             "rather than from random weights: to go on training one")
    parser.add_argument("--member", type=int, default=0,
                        help="which member of --init to start from")
    parser.add_argument("--combine", type=Path, nargs="+", metavar="NPZ",
                        help="write these trained networks to --out as one ensemble instead")
    args = parser.parse_args()
    if args.combine:
        combine(args.combine, args.out)
        return
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    items = [item for folder in args.data
             for item in load_items(folder.expanduser(), causal=args.causal)]
    train = [item for item in items if not held_out(item["name"])]
    valid = [item for item in items if held_out(item["name"])]
    hours = sum(item["planes"].shape[1] / item["fps"] for item in items) / 3600
    print(f"{len(train)} training items, {len(valid)} held out, {hours:.1f} h in all",
          flush=True)
    # longer items are drawn more often, as a share of the music
    weights = np.array([item["planes"].shape[1] for item in train], np.float64)
    weights /= weights.sum()
    model = BeatNet(causal=args.causal)
    if args.init is not None:
        members = beatnet.load_weights(args.init)
        if not 0 <= args.member < len(members):
            raise SystemExit(f"{args.init} holds {len(members)} networks: --member 0 to "
                             f"{len(members) - 1}")
        member = members[args.member]
        model.load_state_dict({name: torch.from_numpy(value) for name, value in member.items()})
    optimiser = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min(1.0, (step + 1) / 100)
        * 0.5 * (1 + math.cos(math.pi * min(step, args.steps) / args.steps)))
    began, running = time.monotonic(), []
    for step in range(1, args.steps + 1):
        picks = rng.choice(len(train), size=args.batch, p=weights)
        pairs = [crop(train[k], args.length, rng, augment=True, rooms=args.rooms,
                      offbeats=args.offbeats) for k in picks]
        x = torch.from_numpy(np.stack([p[0] for p in pairs]))
        y = torch.from_numpy(np.stack([p[1] for p in pairs]))
        logits = model(x)
        loss = nn.functional.binary_cross_entropy_with_logits(logits[:, 0], y[:, 0]) \
            + 0.5 * nn.functional.binary_cross_entropy_with_logits(logits[:, 1], y[:, 1])
        optimiser.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        schedule.step()
        running.append(loss.item())
        if step % args.report == 0 or step == args.steps:
            held = evaluate(model, valid) if valid else float("nan")
            print(f"step {step}/{args.steps}  loss {np.mean(running):.4f}  held-out beat loss "
                  f"{held:.4f}  {time.monotonic() - began:.0f} s", flush=True)
            running = []
            save(model, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
