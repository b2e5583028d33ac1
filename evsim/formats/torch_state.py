"""Read a PyTorch `state_dict` (`.pth`) into plain float arrays.  Needs the optional torch extra.

Only tensors are taken; the file is opened with `weights_only=True`, so a checkpoint cannot run
code on load.  A full pickled model or a training checkpoint that nests the state dict under
'state_dict' / 'model_state_dict' is accepted too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import EvsimError


def load_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    path = Path(path)
    try:
        import torch
    except ImportError:
        raise EvsimError(
            f"{path}: reading .pth files needs PyTorch: pip install 'evsim[torch]' (torch==2.13.0)"
        ) from None
    if not path.is_file():
        raise EvsimError(f"{path}: checkpoint not found")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise EvsimError(f"{path}: not a readable PyTorch state_dict ({type(exc).__name__})") from None
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict):
        raise EvsimError(f"{path}: expected a state_dict (a mapping of names to tensors), found {type(obj).__name__}")
    out = {}
    for name, value in obj.items():
        if isinstance(value, torch.Tensor):
            if value.is_complex():  # a cast would drop the imaginary part with only a warning
                raise EvsimError(f"{path}: tensor '{name}' is complex ({value.dtype}); evsim's parameters are real")
            out[str(name)] = value.detach().to(torch.float64).cpu().numpy()
    if not out:
        raise EvsimError(f"{path}: the state_dict holds no tensors")
    return out
