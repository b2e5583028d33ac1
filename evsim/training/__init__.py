"""Training SRNNs the paper's way (PyTorch, optional).

`import evsim.training` does not import torch: the config is plain data, and the functions
below import the torch parts when called.  Install torch with the `train` extra.
"""

from __future__ import annotations

from .config import TrainConfig


def require_torch():
    """The torch module, or an EvsimError saying how to install it."""
    try:
        import torch
    except ImportError:
        from ..errors import EvsimError

        raise EvsimError("training needs PyTorch: pip install 'evsim[train]' (torch==2.13.0)") from None
    return torch


def train(config: TrainConfig, **kwargs):
    """See evsim.training.trainer.train."""
    require_torch()
    from .trainer import train as _train

    return _train(config, **kwargs)


__all__ = ["TrainConfig", "require_torch", "train"]
