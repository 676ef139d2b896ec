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
import os
import shutil
import socket
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

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

__all__ = ["RESOLUTIONS", "fetch_weights", "load_biggan", "make_random_checkpoint"]

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
