"""BigGAN-deep weights: find them, download and cache them once, load them strictly.

The only module that imports `pytorch_pretrained_biggan`. Unlike the package's own
`BigGAN.from_pretrained` (which loads with ``strict=False`` and needs the network on every
call), a checkpoint that does not fit its architecture fails here with its path in the
message, and a cached model loads offline.

`make_random_checkpoint` writes a randomly initialised BigGAN-deep of the real architecture
in the same format, for tests and for trying audiogan without the pretrained weights.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import cast

import torch
from pytorch_pretrained_biggan import BigGAN, BigGANConfig
from pytorch_pretrained_biggan import convert_tf_to_pytorch as reference_configs
from pytorch_pretrained_biggan.model import (
    CONFIG_NAME,
    PRETRAINED_CONFIG_ARCHIVE_MAP,
    PRETRAINED_MODEL_ARCHIVE_MAP,
    WEIGHTS_NAME,
    BigGANBatchNorm,
)

from audiogan.cache import cache_dir
from audiogan.errors import ConfigError, ModelLoadError
from audiogan.files import download

__all__ = ["RESOLUTIONS", "WideBigGAN", "fetch_weights", "frame_size", "load_biggan",
           "make_random_checkpoint", "widen"]

RESOLUTIONS = {"biggan-deep-128": 128, "biggan-deep-256": 256, "biggan-deep-512": 512}
_REFERENCE = {128: reference_configs.BigGAN128, 256: reference_configs.BigGAN256,
              512: reference_configs.BigGAN512}
# The same files, mirrored on the Hugging Face hub, for when the 2019 archive is gone.
HUB_MIRRORS = {name: f"huggingface/{name}" for name in RESOLUTIONS}

Progress = Callable[[int, int | None], None]


def _from_hub(model_name: str, folder: Path) -> None:
    from huggingface_hub import hf_hub_download

    hub_log = logging.getLogger("huggingface_hub")
    level = hub_log.level
    hub_log.setLevel(logging.ERROR)  # its retries are not the user's business: one line is
    try:
        for filename in (CONFIG_NAME, WEIGHTS_NAME):
            cached = hf_hub_download(repo_id=HUB_MIRRORS[model_name], filename=filename)
            shutil.copyfile(cached, folder / f".{filename}.part")
            os.replace(folder / f".{filename}.part", folder / filename)
    finally:
        hub_log.setLevel(level)


def fetch_weights(model_name: str, *, progress: Progress | None = None) -> Path:
    """The folder of `model_name`'s pretrained weights, downloading them on first use."""
    folder = cache_dir() / model_name
    if (folder / CONFIG_NAME).is_file() and (folder / WEIGHTS_NAME).is_file():
        return folder
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelLoadError(
            f"cannot create the weights cache {folder} ({exc.strerror}); "
            "set AUDIOGAN_CACHE to a writable folder"
        ) from None
    failures = []
    offline = False
    try:
        download(PRETRAINED_CONFIG_ARCHIVE_MAP[model_name], folder / CONFIG_NAME)
        download(PRETRAINED_MODEL_ARCHIVE_MAP[model_name], folder / WEIGHTS_NAME, progress)
        return folder
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        failures.append(f"archive: {reason}")
        # no name resolves: the hub cannot be reached either, so do not wait on its retries
        offline = isinstance(reason, socket.gaierror)
    if not offline:
        try:
            _from_hub(model_name, folder)
            return folder
        except Exception as exc:  # noqa: BLE001 - any hub failure means: try the next source
            failures.append(f"hub: {type(exc).__name__}")
    raise ModelLoadError(
        f"could not download the {model_name} weights ({'; '.join(failures)}); check the "
        f"network, or fetch {CONFIG_NAME} and {WEIGHTS_NAME} from "
        f"{PRETRAINED_MODEL_ARCHIVE_MAP[model_name].rsplit('/', 1)[0]}/ and pass --weights FOLDER"
    )


def _read_config(path: Path) -> BigGANConfig:
    try:
        values = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(
            f"{path} is not a readable BigGAN config ({exc}); use the config.json that "
            "came with the weights"
        ) from None
    required = {"output_dim", "z_dim", "channel_width", "num_classes", "layers",
                "attention_layer_position"}
    if not isinstance(values, dict) or not required <= set(values):
        missing = sorted(required - set(values)) if isinstance(values, dict) else required
        raise ModelLoadError(f"{path} is not a BigGAN config (missing {', '.join(missing)})")
    config = BigGANConfig.from_dict(values)
    upsamplings = sum(1 for layer in config.layers if layer[0])
    if 4 * 2**upsamplings != config.output_dim:
        raise ModelLoadError(
            f"{path} says output_dim {config.output_dim} but its layers make "
            f"{4 * 2**upsamplings} px images; use the config.json that came with the weights"
        )
    return config


def _describe_mismatch(model: torch.nn.Module, state: dict) -> str:
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [k for k in expected if k in state and hasattr(state[k], "shape")
             and tuple(state[k].shape) != tuple(expected[k].shape)]
    parts = []
    if missing:
        parts.append(f"{len(missing)} missing tensors (e.g. {missing[0]})")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected tensors (e.g. {unexpected[0]})")
    if wrong:
        k = wrong[0]
        parts.append(f"{len(wrong)} of another shape (e.g. {k}: "
                     f"{tuple(state[k].shape)} instead of {tuple(expected[k].shape)})")
    return "; ".join(parts) or "tensors of another kind"


def load_biggan(model_name: str | None = None, weights: str | Path | None = None, *,
                progress: Progress | None = None) -> BigGAN:
    """Load BigGAN-deep in eval mode with spectral norm folded into the weights.

    Parameters
    ----------
    model_name : str, optional
        ``biggan-deep-128|256|512``. With `weights`, it is checked against the checkpoint's
        resolution; without, its pretrained weights are downloaded once and cached.
    weights : path, optional
        A folder with ``config.json`` and ``pytorch_model.bin``.
    """
    if weights is None:
        if model_name is None:
            model_name = "biggan-deep-128"
        folder = fetch_weights(model_name, progress=progress)
    else:
        folder = Path(weights).expanduser()
        if not folder.is_dir():
            raise ModelLoadError(
                f"weights folder {folder} not found: give a folder with {CONFIG_NAME} and "
                f"{WEIGHTS_NAME}"
            )
    config_path, weights_path = folder / CONFIG_NAME, folder / WEIGHTS_NAME
    for needed in (config_path, weights_path):
        if not needed.is_file():
            raise ModelLoadError(
                f"{needed} not found: a weights folder needs {CONFIG_NAME} and {WEIGHTS_NAME}"
            )
    config = _read_config(config_path)
    if model_name is not None and RESOLUTIONS[model_name] != config.output_dim:
        raise ModelLoadError(
            f"{folder} holds a {config.output_dim} px BigGAN but {model_name} was asked for; "
            f"pass --model biggan-deep-{config.output_dim} or other weights"
        )
    try:
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many kinds for a bad file
        raise ModelLoadError(
            f"{weights_path} is not a readable PyTorch checkpoint ({type(exc).__name__}); "
            "re-download it or point --weights at another folder"
        ) from None
    try:
        model = BigGAN(config)
    except Exception as exc:  # noqa: BLE001 - a config with nonsense sizes
        raise ModelLoadError(f"{config_path} describes no buildable BigGAN ({exc})") from None
    if not isinstance(state, dict):
        raise ModelLoadError(f"{weights_path} holds no state dict; it is not BigGAN weights")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError:
        raise ModelLoadError(
            f"{weights_path} does not fit the BigGAN-deep described in {config_path}: "
            f"{_describe_mismatch(model, state)}; use the weights and config.json of one model"
        ) from None
    model.eval()
    for module in model.modules():
        if hasattr(module, "weight_orig"):
            torch.nn.utils.remove_spectral_norm(module)
    return model


def make_random_checkpoint(folder: str | Path, *, resolution: int = 128,
                           channel_width: int = 8, seed: int = 0,
                           final_bn_weight: float = 12.0, power_iterations: int = 12) -> Path:
    """Write a randomly initialised BigGAN-deep of the real architecture to `folder`.

    The model keeps the real layer list of its `resolution` (128, 256 or 512) and narrows
    only `channel_width` (128 in the real models). Two things make it behave like a trained
    one: the unconditional batch norm, whose weight and bias start as uninitialised memory,
    gets weight `final_bn_weight` (about 12 gives trained-model contrast) and bias 0; and the
    spectral norms' singular vectors are power-iterated by forward passes in train mode
    (left random they give NaN images).
    """
    if resolution not in _REFERENCE:
        raise ConfigError(f"--resolution must be 128, 256 or 512, got {resolution}")
    if channel_width < 4 or channel_width % 4:
        raise ConfigError(f"--channel-width must be a multiple of 4, got {channel_width}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    values = _REFERENCE[resolution].to_dict()
    values["channel_width"] = channel_width
    config = BigGANConfig.from_dict(values)
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):  # the layers' initialisers draw from the global
        torch.manual_seed(seed)               # generator: seed it here, restore it after
        model = BigGAN(config)
    for module in model.modules():
        if isinstance(module, BigGANBatchNorm) and not module.conditional:
            module.weight.data.fill_(final_bn_weight)
            module.bias.data.zero_()
    model.train()
    with torch.no_grad():
        for _ in range(power_iterations):
            z = torch.randn(2, config.z_dim, generator=generator).clamp(-2, 2) * 0.5
            y = torch.zeros(2, config.num_classes)
            y[:, torch.randint(config.num_classes, (2,), generator=generator)] = 1.0
            model(z, y, 0.5)
    model.eval()
    torch.save(model.state_dict(), folder / WEIGHTS_NAME)
    (folder / CONFIG_NAME).write_text(config.to_json_string(), encoding="utf-8")
    return folder


class WideBigGAN(torch.nn.Module):
    """BigGAN-deep drawing a wider (or taller) picture than its own square, natively.

    BigGAN-deep's first layer turns the latent and the class embedding into a 4x4 feature map
    that the rest of the network, convolutions, conditional batch norms with fixed statistics
    and one self-attention, all of any width, grows into the picture. Here that first map is
    widened to ``rows x columns`` cells: the square's own 4x4 map stays in the middle, and
    each 4x4 tile beside it is the first map of a neighbouring latent,
    ``cos(a) z + sin(a) n`` with a fixed noise `n` per tile (a = 0.7 rad per tile of
    distance), so the sides move with the music as the middle does. The later layers join the
    tiles into one picture: it continues to the edges with no mirror, seam or bars, and the
    middle still shows what the square frame shows. The idea is that of wide samples from
    square GANs (e.g. "infinite" or panorama BigGAN samples stitch neighbouring latents in
    feature space, not in pixels); this is the cheapest form of it, one extra linear layer
    per tile and a wider map through the rest of the network.

    Called as the model is, ``(z, class_vectors, truncation)``; pictures are
    ``(n, 3, rows * s, columns * s)`` with s = output_dim / 4.
    """

    def __init__(self, model: BigGAN, *, columns: int = 4, rows: int = 4, seed: int = 0,
                 spread: float = 0.7):
        super().__init__()
        if columns < 4 or rows < 4:
            raise ConfigError(f"a wide BigGAN has at least 4x4 cells, got {columns}x{rows}")
        self.model = model
        self.config = model.config
        self.columns, self.rows, self.spread = columns, rows, spread
        left, top = (columns - 4) // 2, (rows - 4) // 2
        # cells span x in [-left, columns - left), tiles of 4 cells with tile 0 the square
        self._x_tiles = range(-math.ceil(left / 4), math.ceil((columns - left - 4) / 4) + 1)
        self._y_tiles = range(-math.ceil(top / 4), math.ceil((rows - top - 4) / 4) + 1)
        self._left, self._top = left, top
        generator = torch.Generator().manual_seed(seed)
        count = len(self._x_tiles) * len(self._y_tiles)
        noise = torch.randn(count, model.config.z_dim, generator=generator).clamp_(-2, 2)
        self.register_buffer("neighbours", noise)

    @property
    def frame_size(self) -> tuple[int, int]:
        """(width, height) of the pictures in pixels."""
        cell = self.config.output_dim // 4
        return self.columns * cell, self.rows * cell

    def forward(self, z: torch.Tensor, class_label: torch.Tensor,
                truncation: float) -> torch.Tensor:
        embed = self.model.embeddings(class_label)
        cond_vector = torch.cat((z, embed), dim=1)
        generator = self.model.generator
        channels = 16 * generator.config.channel_width

        def first_map(latent: torch.Tensor) -> torch.Tensor:
            cells = generator.gen_z(torch.cat((latent, embed), dim=1))
            return cells.view(-1, 4, 4, channels).permute(0, 3, 1, 2)

        rows_of_tiles = []
        index = 0
        for ty in self._y_tiles:
            row = []
            for tx in self._x_tiles:
                if tx == 0 and ty == 0:
                    row.append(first_map(z))
                else:
                    angle = self.spread * math.hypot(tx, ty)
                    noise = cast(torch.Tensor, self.neighbours)[index].to(z.dtype) * truncation
                    row.append(first_map(math.cos(angle) * z + math.sin(angle) * noise))
                index += 1
            rows_of_tiles.append(torch.cat(row, dim=3))
        tiles = torch.cat(rows_of_tiles, dim=2)
        x0 = -4 * self._x_tiles[0] - self._left
        y0 = -4 * self._y_tiles[0] - self._top
        x = tiles[:, :, y0:y0 + self.rows, x0:x0 + self.columns].contiguous()
        for layer in generator.layers:  # as Generator.forward, on the wider map
            x = layer(x, cond_vector, truncation) if hasattr(layer, "bn_0") else layer(x)
        x = generator.relu(generator.bn(x, truncation))
        x = generator.conv_to_rgb(x)[:, :3, ...]
        return generator.tanh(x)


def widen(model: BigGAN, aspect: float, *, seed: int = 0) -> BigGAN | WideBigGAN:
    """`model` drawing pictures of at least `aspect` (width / height) natively: a
    `WideBigGAN` with as many 4x4-map cells as it takes (the picture is then cropped to the
    exact aspect); `model` itself for a square."""
    if not aspect > 0:
        raise ConfigError(f"aspect must be positive, got {aspect}")
    columns = max(4, math.ceil(4 * aspect - 1e-9))
    rows = max(4, math.ceil(4 / aspect - 1e-9))
    if columns == rows == 4:
        return model
    return WideBigGAN(model, columns=columns, rows=rows, seed=seed)


def frame_size(model: torch.nn.Module) -> tuple[int, int]:
    """(width, height) of the pictures `model` makes."""
    if isinstance(model, WideBigGAN):
        return model.frame_size
    side = int(cast(BigGAN, model).config.output_dim)
    return side, side
