"""The synapse layout both event engines (float and fixed-point) hand to their kernels.

Projection p's weight matrix (targets x sources) is stored transposed, one contiguous row of
`n_tgt` target weights per source neuron, all projections concatenated into one flat array;
`nnz` holds each row's number of non-zero weights (for the `ac` and `mac` counts).  Each
layer's incoming projections are listed, in summation order, as in_proj[in_ptr[l]:in_ptr[l+1]].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class SynapseRows:
    w: np.ndarray  # all rows, flat; the weights' own dtype (float64 or int64)
    nnz: np.ndarray  # (sum of source sizes,) int64
    p_w_off: np.ndarray  # per projection: where its rows start in w
    p_nnz_off: np.ndarray  # per projection: where its counts start in nnz
    p_n_tgt: np.ndarray  # per projection: row length (target size)
    in_ptr: np.ndarray  # (layers + 1,)
    in_proj: np.ndarray


def synapse_rows(weights: list[np.ndarray], targets: list[int], n_layers: int) -> SynapseRows:
    """weights[p]: (n_tgt, n_src) matrix of projection p; targets[p]: its target layer index."""
    rows = [np.ascontiguousarray(wt.T) for wt in weights]
    sizes = np.array([r.size for r in rows], dtype=np.int64)
    n_src = np.array([r.shape[0] for r in rows], dtype=np.int64)
    in_proj = [p for li in range(n_layers) for p in range(len(weights)) if targets[p] == li]
    in_ptr = np.zeros(n_layers + 1, dtype=np.int64)
    in_ptr[1:] = np.cumsum([sum(1 for t in targets if t == li) for li in range(n_layers)])
    return SynapseRows(
        w=np.concatenate([r.ravel() for r in rows]),
        nnz=np.concatenate([np.count_nonzero(r, axis=1).astype(np.int64) for r in rows]),
        p_w_off=np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64),
        p_nnz_off=np.concatenate([[0], np.cumsum(n_src)[:-1]]).astype(np.int64),
        p_n_tgt=np.array([wt.shape[0] for wt in weights], dtype=np.int64),
        in_ptr=in_ptr,
        in_proj=np.array(in_proj, dtype=np.int64),
    )
