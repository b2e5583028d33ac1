"""NIR (the Neuromorphic Intermediate Representation, neuromorphs/NIR) in and out.

Import: a NIR graph becomes an evsim Network.  Neuron nodes (LIF, CubaLIF, IF, LI, CubaLI, I)
become layers of the registry type that is that node (evsim/neurons: `nir_node`), parameters
renamed by the type's NIR names; linear nodes between them (Affine, Linear, Scale, Delay,
Flatten, the Input/Output nodes of nested graphs) fold into one projection per (source, target,
delay); nested graphs are flattened with names `parent.child`.  A cycle reads the previous
step's output (nirtorch's convention for recursive inputs): the projection closing it gets one
step of delay on top of its Delay nodes.  docs/nir.md gives every node's equations.

NIR's parameters are continuous-time; the step `dt` comes from the caller or the graph's
metadata (`dt`), and the discretization, reset and update conventions from `ImportOptions`.

Export: every layer as the NIR node of its type (ALIF, which NIR lacks, as a LIF node carrying
its adaptation in the node's metadata), every projection as Affine or Linear (plus a Delay node
where the delay is not implied by a cycle), and what NIR cannot say (reset by subtraction, the
reset's timing, the discretization, the readout, the initial-state rule) as `evsim_*` metadata
that evsim reads back exactly and other readers ignore.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import neurons
from ..errors import EvsimError
from ..model import INPUT, InitialState, Layer, LayerInit, Network, Projection, Readout

# Conventions of the simulators that write NIR files (docs/nir.md).  NIR itself: forward Euler,
# v reset to v_reset at the spike, CubaLIF's membrane driven by the previous step's current
# (nir_reference_impl.py).  snnTorch (its defaults, which its exporter does not record): reset by
# subtraction one step late (reset_delay=True), the membrane driven by the new current.
CONVENTIONS = {
    "nir": {"discretization": "euler", "reset": "zero", "reset_at": "same-step", "update": "simultaneous"},
    "snntorch": {"discretization": "euler", "reset": "subtract", "reset_at": "next-step", "update": "sequential"},
}
LINEAR_NODES = ("Affine", "Linear", "Scale", "Delay", "Flatten", "Identity")
EXTENSION = "evsim_"  # prefix of the metadata evsim writes and reads
FORMAT = 1  # version of that metadata
ALIF_AS_LIF = {"tau_m": "tau", "r": "r", "b_j0": "v_threshold"}  # alif parameters a LIF node holds


@dataclass
class ImportOptions:
    """How to read a NIR file's continuous-time graph as a stepped network.

    dt: the step in the file's time unit (seconds for every exporter); None takes the graph's
    metadata `dt`.  conventions: the preset that fills what is not given ('nir' or 'snntorch').
    discretization, reset ('zero': to v_reset, 'subtract'), reset_at ('same-step',
    'next-step') and update ('simultaneous', 'sequential': which current a CubaLIF membrane
    reads) override the preset for every layer; evsim's own metadata in the file overrides the
    preset but not these.
    """

    dt: float | None = None
    conventions: str = "nir"
    discretization: str | None = None
    reset: str | None = None
    reset_at: str | None = None
    update: str | None = None


class _Error(Exception):
    """A problem with the graph; import_nir prefixes the file name."""


def _fail(message: str):
    raise _Error(message)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    detail = text[0][:200] if text else ""
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def read_graph(path: str | Path):
    """(nir.NIRGraph, notes) with NIR's own reader; type checking is retried off, with a note."""
    import nir

    path = Path(path)
    if not path.is_file():
        raise EvsimError(f"{path}: no such file")
    notes = []
    try:
        graph = nir.read(path)
    except Exception as exc:  # noqa: BLE001 - nir.read raises whatever its parsing meets
        first = _one_line(exc)
        try:
            graph = nir.read(path, type_check=False)
        except Exception as exc2:  # noqa: BLE001
            raise EvsimError(f"{path}: not a readable NIR file ({_one_line(exc2)})") from None
        notes.append(f"nir.read's type check rejects this file ({first}); read without it, shapes checked by evsim")
    if not isinstance(graph, nir.NIRGraph):
        raise EvsimError(f"{path}: the file holds a {type(graph).__name__}, not a NIR graph")
    return graph, notes


# ---- flattening ----------------------------------------------------------------------------


def _flatten(graph, prefix: str = "") -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Nodes by full name ('parent.child') and edges between full names; a nested graph's
    Input and Output nodes stay as pass-through nodes named inside it."""
    import nir

    nodes: dict[str, Any] = {}
    edges: list[tuple[str, str]] = []
    ports: dict[str, tuple[list[str], list[str]]] = {}  # subgraph -> (its Input nodes, its Output nodes)
    if not isinstance(graph.nodes, dict) or not graph.nodes:
        _fail(f"graph '{prefix[:-1] or 'top'}' has no nodes")
    for name, node in graph.nodes.items():
        full = f"{prefix}{name}"
        if isinstance(node, nir.NIRGraph):
            sub_nodes, sub_edges = _flatten(node, full + ".")
            nodes.update(sub_nodes)
            edges += sub_edges
            ports[full] = (
                [f"{full}.{k}" for k, n in node.nodes.items() if isinstance(n, nir.Input)],
                [f"{full}.{k}" for k, n in node.nodes.items() if isinstance(n, nir.Output)],
            )
        else:
            nodes[full] = node

    def endpoint(name: str, a: str, b: str, as_source: bool) -> str:
        full = f"{prefix}{name}"
        if full in ports:
            ins, outs = ports[full]
            side = outs if as_source else ins
            if len(side) != 1:
                kind = "Output" if as_source else "Input"
                _fail(f"edge {a} -> {b}: subgraph '{full}' has {len(side)} {kind} nodes, so the edge is ambiguous")
            return side[0]
        if full not in nodes:
            _fail(f"edge {a} -> {b}: node '{full}' does not exist (a dangling edge)")
        return full

    try:
        raw = [(str(a), str(b)) for a, b in graph.edges]
    except (TypeError, ValueError):
        _fail(f"graph '{prefix[:-1] or 'top'}': edges are not (source, target) pairs")
    for a, b in raw:
        edges.append((endpoint(a, a, b, True), endpoint(b, a, b, False)))
    return nodes, edges


# ---- linear maps and the terms reaching each neuron ------------------------------------------


@dataclass
class _Term:
    """W @ (output of `source`, `delay` steps ago) + bias; W None is the identity."""

    source: str
    weight: np.ndarray | None
    bias: np.ndarray | None
    delay: int

    def width(self, sizes: dict[str, int]) -> int:
        return sizes[self.source] if self.weight is None else self.weight.shape[0]


def _array(node, field: str, name: str) -> np.ndarray:
    value = getattr(node, field, None)
    if value is None:
        _fail(f"node '{name}' ({type(node).__name__}) has no '{field}'")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        _fail(f"node '{name}' ({type(node).__name__}): '{field}' is not numeric")
    if not np.all(np.isfinite(arr)):
        _fail(f"node '{name}' ({type(node).__name__}): '{field}' holds NaN or infinite values")
    return arr


def _linear_map(name: str, node, dt: float) -> tuple[np.ndarray | None, np.ndarray | None, int]:
    """(matrix or None for the identity, bias or None, delay in steps) of a linear node."""
    kind = type(node).__name__
    if kind in ("Affine", "Linear"):
        w = _array(node, "weight", name)
        if w.ndim != 2:
            _fail(f"node '{name}' ({kind}): weight has shape {w.shape}; evsim takes 2-D weights (out, in)")
        b = _array(node, "bias", name).ravel() if kind == "Affine" else None
        if b is not None and b.shape != (w.shape[0],):
            _fail(f"node '{name}' (Affine): bias has {b.size} values for {w.shape[0]} outputs")
        return w, b, 0
    if kind == "Scale":
        return np.diag(_array(node, "scale", name).ravel()), None, 0
    if kind == "Delay":
        d = _array(node, "delay", name).ravel()
        steps = d / dt
        k = int(np.round(steps[0])) if d.size else 0
        if d.size == 0 or np.any(np.abs(steps - k) > 1e-6 * max(1.0, abs(k))) or k < 0:
            _fail(f"node '{name}' (Delay): delays {np.unique(d)[:4].tolist()} are not one whole number of steps of dt = {dt:g}")
        return None, None, k
    return None, None, 0  # Flatten (of a flat vector), Identity, a nested graph's Input/Output


def _compose(name: str, w: np.ndarray | None, b: np.ndarray | None, d: int, term: _Term, sizes: dict[str, int], pred: str) -> _Term:
    width = term.width(sizes)
    if w is not None and w.shape[1] != width:
        _fail(f"shape mismatch: node '{name}' takes {w.shape[1]} values, '{pred}' gives {width}")
    weight = term.weight if w is None else (w if term.weight is None else w @ term.weight)
    bias = term.bias if w is None or term.bias is None else w @ term.bias
    return _Term(term.source, weight, bias, term.delay + d)


class _Graph:
    """The flattened graph, resolved into neuron nodes and the linear terms reaching each."""

    def __init__(self, graph, dt: float):
        import nir

        self.nodes, self.edges = _flatten(graph)
        self.dt = dt
        self.incoming: dict[str, list[str]] = {n: [] for n in self.nodes}
        for a, b in self.edges:
            self.incoming[b].append(a)
        top_inputs = [k for k, n in graph.nodes.items() if isinstance(n, nir.Input)]
        self.outputs = [k for k, n in graph.nodes.items() if isinstance(n, nir.Output)]
        if len(top_inputs) != 1:
            _fail(f"the graph has {len(top_inputs)} Input nodes; evsim runs graphs with exactly one")
        self.input = top_inputs[0]
        self.neurons: dict[str, Any] = {}
        for name, node in self.nodes.items():
            kind = type(node).__name__
            if name == self.input or name in self.outputs:
                continue
            if kind in _NODE_TYPES:
                self.neurons[name] = node
            elif kind not in LINEAR_NODES and not isinstance(node, (nir.Input, nir.Output)):
                _fail(f"node '{name}' is a {kind}, which evsim does not run (it runs {', '.join(sorted(_NODE_TYPES))} and linear nodes)")
        self.sizes = {self.input: self._input_size(graph.nodes[self.input])}
        for name, node in self.neurons.items():
            self.sizes[name] = _neuron_size(name, node)
        self._memo: dict[str, list[_Term]] = {}

    def _input_size(self, node) -> int:
        shape = node.input_type.get("input") if isinstance(node.input_type, dict) else None
        try:
            size = int(np.prod(np.asarray(shape, dtype=np.int64))) if shape is not None else 0
        except (TypeError, ValueError):
            size = 0
        if size <= 0:
            _fail(f"Input node '{self.input}' has no valid shape ({shape!r})")
        return size

    def terms(self, name: str, path: tuple[str, ...] = ()) -> list[_Term]:
        """The terms making up the output of node `name`."""
        if name == self.input or name in self.neurons:
            return [_Term(name, None, None, 0)]
        if name in path:
            loop = " -> ".join(path[path.index(name):] + (name,))
            _fail(f"a cycle through linear nodes only ({loop}): a loop needs a neuron node")
        if name in self._memo:
            return self._memo[name]
        preds = self.incoming[name]
        if not preds:
            _fail(f"node '{name}' ({type(self.nodes[name]).__name__}) has no incoming edge")
        w, b, d = _linear_map(name, self.nodes[name], self.dt)
        out = []
        for pred in preds:
            out += [_compose(name, w, b, d, t, self.sizes, pred) for t in self.terms(pred, path + (name,))]
        if b is not None:
            first = out[0]
            out[0] = _Term(first.source, first.weight, b if first.bias is None else first.bias + b, first.delay)
        self._memo[name] = out
        return out

    def neuron_inputs(self, name: str) -> list[_Term]:
        """The terms summed into a neuron node, one per (source, delay), in order of appearance."""
        grouped: dict[tuple[str, int], _Term] = {}
        n = self.sizes[name]
        for pred in self.incoming[name]:
            for t in self.terms(pred):
                if t.width(self.sizes) != n:
                    _fail(f"shape mismatch: node '{name}' takes {n} values, '{pred}' gives {t.width(self.sizes)}")
                w = np.eye(n) if t.weight is None else t.weight
                key = (t.source, t.delay)
                if key in grouped:
                    g = grouped[key]
                    bias = g.bias if t.bias is None else (t.bias if g.bias is None else g.bias + t.bias)
                    grouped[key] = _Term(t.source, g.weight + w, bias, t.delay)
                else:
                    grouped[key] = _Term(t.source, w, t.bias, t.delay)
        return list(grouped.values())


def _neuron_size(name: str, node) -> int:
    t = neurons.TYPES[_NODE_TYPES[type(node).__name__]]
    sizes = {int(np.asarray(getattr(node, p.nir)).size) for p in t.params if p.nir and getattr(node, p.nir, None) is not None}
    if len(sizes) != 1 or 0 in sizes:
        _fail(f"node '{name}' ({type(node).__name__}): its parameters have different sizes ({sorted(sizes)})")
    return sizes.pop()


_NODE_TYPES = {t.nir_node: t.name for t in neurons.TYPES.values() if t.nir_node}


def _order(names: list[str], sources: dict[str, list[tuple[str, int]]], given: list[str] | None) -> tuple[list[str], set[tuple[str, str]]]:
    """Update order of the neuron nodes and the set of (source, target) edges that close a cycle.

    With `given` (evsim's own export), that order; otherwise a depth-first walk from the input,
    successors in name order: an edge into a node on the walk's stack closes a cycle, and the
    reverse post-order puts every other edge's source first.
    """
    if given is not None and sorted(given) == sorted(names):
        index = {n: i for i, n in enumerate(given)}
        back = {(s, t) for t in names for s, _ in sources[t] if s != INPUT and index[s] >= index[t]}
        return list(given), back
    succ: dict[str, list[str]] = {n: [] for n in names + [INPUT]}
    for t in names:
        for s, _ in sources[t]:
            if t not in succ[s]:
                succ[s].append(t)
    for s in succ:
        succ[s].sort()
    state: dict[str, int] = {}  # 1 on the stack, 2 done
    post: list[str] = []
    back: set[tuple[str, str]] = set()
    for root in [INPUT] + sorted(names):
        if root in state:
            continue
        stack = [(root, iter(succ[root]))]
        state[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                state[node] = 2
                post.append(node)
            elif state.get(nxt) == 1:
                back.add((node, nxt))
            elif nxt not in state:
                state[nxt] = 1
                stack.append((nxt, iter(succ[nxt])))
    return [n for n in reversed(post) if n != INPUT], back


def _meta(node) -> dict[str, Any]:
    m = getattr(node, "metadata", None)
    return m if isinstance(m, dict) else {}


def _meta_str(meta: dict, key: str) -> str | None:
    value = meta.get(EXTENSION + key)
    if isinstance(value, bytes):
        value = value.decode("utf8", "replace")
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
        value = value.decode("utf8", "replace") if isinstance(value, bytes) else value
    return value if isinstance(value, str) else None


def _meta_json(meta: dict, key: str, what: str):
    text = _meta_str(meta, key)
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        _fail(f"metadata '{EXTENSION}{key}' ({what}) is not valid JSON")


def _layer(name: str, node, opts: dict[str, str], size: int) -> Layer:
    """The evsim layer a neuron node is (evsim's own metadata first: an exported ALIF)."""
    meta = _meta(node)
    kind = _meta_str(meta, "neuron")
    nir_kind = type(node).__name__
    if kind == "alif" and nir_kind == "LIF":
        t = neurons.TYPES["alif"]
        params = {p: _array(node, f, name).ravel() for p, f in ALIF_AS_LIF.items()}
        for p in t.params:
            if p.name not in params:
                if EXTENSION + p.name not in meta:
                    _fail(f"node '{name}': evsim ALIF metadata lacks '{EXTENSION}{p.name}'")
                params[p.name] = _metadata_array(meta, p.name, name)
        return Layer(name, size, "alif", params=params)
    t = neurons.TYPES[_NODE_TYPES[nir_kind]]
    if EXTENSION + "neuron" in meta and kind != t.name:
        _fail(f"node '{name}' ({nir_kind}): its metadata '{EXTENSION}neuron' says {kind!r}, which a {nir_kind} node cannot hold")
    params = {p.name: _array(node, p.nir, name).ravel() for p in t.params if p.nir and getattr(node, p.nir, None) is not None}
    options = {}
    for o in t.options:
        stored = meta.get(EXTENSION + o.name)
        if o.name in opts["explicit"]:
            options[o.name] = opts["explicit"][o.name]
        elif stored is not None:
            try:
                options[o.name] = _meta_str(meta, o.name) if o.choices else int(np.asarray(stored))
            except (TypeError, ValueError):
                _fail(f"node '{name}': metadata '{EXTENSION}{o.name}' is not an integer")
        elif o.name in opts["preset"]:
            options[o.name] = opts["preset"][o.name]
    return Layer(name, size, t.name, params=params, options=options)


def _metadata_array(meta: dict, key: str, name: str) -> np.ndarray:
    try:
        arr = np.asarray(meta[EXTENSION + key], dtype=np.float64).ravel()
    except (TypeError, ValueError):
        _fail(f"node '{name}': metadata '{EXTENSION}{key}' is not numeric")
    return arr


def graph_to_network(graph, name: str, options: ImportOptions) -> tuple[Network, list[str]]:
    """A nir.NIRGraph as an evsim Network, with notes on what the import assumed."""
    if options.conventions not in CONVENTIONS:
        _fail(f"unknown conventions '{options.conventions}' (choose from {', '.join(CONVENTIONS)})")
    meta = _meta(graph)
    notes = []
    dt = options.dt
    stored_dt = meta.get("dt")
    if dt is None:
        if stored_dt is None:
            _fail("the file gives no time step (graph metadata 'dt'): give --dt SECONDS")
        try:
            dt = float(np.asarray(stored_dt))
        except (TypeError, ValueError):
            _fail(f"graph metadata 'dt' is not a number ({stored_dt!r})")
    elif stored_dt is not None and np.ndim(stored_dt) == 0 and float(np.asarray(stored_dt)) != dt:
        notes.append(f"--dt {dt:g} replaces the file's dt {float(np.asarray(stored_dt)):g}")
    if not np.isfinite(dt) or dt <= 0:
        _fail(f"dt must be a positive number of seconds, got {dt}")
    preset = dict(CONVENTIONS[options.conventions])
    explicit = {k: getattr(options, k) for k in ("reset", "reset_at", "update") if getattr(options, k) is not None}
    discretization = options.discretization or _meta_str(meta, "discretization") or preset["discretization"]

    g = _Graph(graph, dt)
    if not g.neurons:
        _fail("the graph has no neuron node")
    inputs = {n: g.neuron_inputs(n) for n in g.neurons}
    for n in g.neurons:
        if n == INPUT or "/" in n:
            _fail(f"node '{n}' ({type(g.neurons[n]).__name__}): evsim cannot name a layer '{n}'")
    name_of = lambda node: INPUT if node == g.input else node  # noqa: E731
    sources = {n: [(name_of(t.source), t.delay) for t in terms] for n, terms in inputs.items()}
    given = _meta_json(meta, "layer_order", "the layer order")
    valid_order = isinstance(given, list) and all(isinstance(x, str) for x in given)
    order, back = _order(list(g.neurons), sources, given if valid_order else None)

    layers = [_layer(n, g.neurons[n], {"explicit": explicit, "preset": preset}, g.sizes[n]) for n in order]
    spiking = {layer.name: layer.spiking for layer in layers}
    projections = []
    for n in order:
        for t in inputs[n]:
            source = name_of(t.source)
            if source != INPUT and not spiking[source]:
                _fail(f"node '{t.source}' ({type(g.neurons[t.source]).__name__}) emits no spikes, but feeds '{n}'; evsim layers read spikes")
            delay = t.delay + (1 if (source, n) in back else 0)
            bias = np.zeros(g.sizes[n]) if t.bias is None else t.bias
            projections.append(Projection(source, n, t.weight, bias, delay))
    if back:
        notes.append("cycles read the previous step: " + ", ".join(f"{s} -> {t}" for s, t in sorted(back)))

    readout = _readout(g, meta, spiking)
    stored_init = _meta_json(meta, "initial_state", "the initial-state rule")
    initial = _initial_state(stored_init) if stored_init is not None else InitialState()
    extra = _meta_json(meta, "metadata", "the model's metadata")
    stored_name = _meta_str(meta, "name")
    network = Network(
        name=stored_name or name,
        n_inputs=g.sizes[g.input],
        layers=layers,
        projections=projections,
        readout=readout,
        initial_state=initial,
        dt=dt,
        discretization=discretization,
        metadata=extra if isinstance(extra, dict) else {},
    )
    return network, notes


def _readout(g: _Graph, meta: dict, spiking: dict[str, bool]) -> Readout:
    stored = _meta_json(meta, "readout", "the readout rule")
    if isinstance(stored, dict):
        try:
            return Readout(**stored)
        except (TypeError, ValueError):
            _fail(f"metadata '{EXTENSION}readout' is not a readout rule ({sorted(stored)})")
    if not g.outputs:
        _fail("the graph has no Output node to read out")
    out = sorted(g.outputs)[0]
    terms = g.terms(out) if g.incoming[out] else []
    if len(terms) != 1 or terms[0].source not in g.neurons or terms[0].weight is not None or terms[0].bias is not None or terms[0].delay:
        _fail(f"Output node '{out}' is not fed by one neuron node directly; evsim reads out a layer")
    layer = terms[0].source
    # a spiking layer by its spike counts, an integrator by its largest membrane (--readout changes it)
    return Readout(layer, "spike", "sum") if spiking[layer] else Readout(layer, "mem", "max")


def _initial_state(d) -> InitialState:
    if not isinstance(d, dict):
        _fail(f"metadata '{EXTENSION}initial_state' is not an object")
    try:
        default = LayerInit(**d.get("default", {}))
        layers = {k: LayerInit(**v) for k, v in d.get("layers", {}).items()}
    except (TypeError, ValueError, AttributeError):
        _fail(f"metadata '{EXTENSION}initial_state' is not an initial-state rule")
    return InitialState(default=default, layers=layers)


def import_nir(path: str | Path, options: ImportOptions | None = None) -> tuple[Network, list[str]]:
    """Read a .nir file as an evsim Network; returns it with notes on what the import assumed."""
    path = Path(path)
    options = options or ImportOptions()
    graph, notes = read_graph(path)
    try:
        network, more = graph_to_network(graph, path.stem, options)
    except _Error as exc:
        raise EvsimError(f"{path}: {exc}") from None
    except EvsimError as exc:  # the model's own checks (NaN parameters, shapes, ...)
        raise EvsimError(f"{path}: {exc}") from None
    network.metadata = {
        **network.metadata,
        "nir_import": {
            "file": str(path),
            "dt": network.dt,
            "conventions": options.conventions,
            "discretization": network.discretization,
            "notes": notes + more,
        },
    }
    return network, notes + more


# ---- export ----------------------------------------------------------------------------------


def _unique(name: str, taken: set[str]) -> str:
    out, k = name, 2
    while out in taken:
        out, k = f"{name}#{k}", k + 1
    taken.add(out)
    return out


def _neuron_node(layer: Layer, warnings: list[str]):
    """The NIR node of a layer, and evsim's extension metadata on it."""
    import nir

    t = layer.type
    meta: dict[str, Any] = {EXTENSION + "neuron": layer.neuron}
    where = f"layer '{layer.name}'"
    if layer.neuron == "alif":
        for p in t.params:
            meta[EXTENSION + p.name] = np.asarray(layer.params[p.name], dtype=np.float64)
        warnings.append(
            f"{where} is an adaptive LIF, which NIR has no node for: written as a LIF (tau = tau_m, "
            "v_threshold = b_j0) with tau_adp, beta in its metadata; other readers run a plain LIF "
            "(no threshold adaptation, reset to 0 at the spike instead of subtracting the threshold one step later)"
        )
        n = layer.size
        return nir.LIF(tau=layer.params["tau_m"], r=layer.params["r"], v_leak=np.zeros(n), v_threshold=layer.params["b_j0"],
                       v_reset=np.zeros(n), metadata=meta)  # fmt: skip
    if t.nir_node is None:
        raise EvsimError(f"{where}: neuron type '{layer.neuron}' has no NIR node")
    for o in t.options:
        value = layer.options[o.name]
        meta[EXTENSION + o.name] = value if o.choices else int(value)
    opts = layer.options
    if opts.get("reset") == "subtract":
        warnings.append(f"{where}: reset by subtraction is not NIR's (which sets v to v_reset); other readers reset to v_reset")
    elif opts.get("reset") == "none":
        warnings.append(f"{where}: no reset is not NIR's (which sets v to v_reset); other readers reset to v_reset")
    if opts.get("reset_at") == "next-step":
        warnings.append(f"{where}: the reset one step after the spike is evsim's metadata only; other readers reset at the spike")
    if opts.get("max_spikes", 1) > 1:
        warnings.append(f"{where}: several spikes per step are evsim's metadata only; other readers emit one")
    if opts.get("update") == "sequential":
        warnings.append(f"{where}: the membrane reading the new current is evsim's metadata only; NIR's reference reads the previous one")
    fields = {p.nir: np.asarray(layer.params[p.name], dtype=np.float64) for p in t.params if p.nir}
    return getattr(nir, t.nir_node)(**fields, metadata=meta)


def network_to_graph(network: Network) -> tuple[Any, list[str]]:
    """An evsim Network as a nir.NIRGraph (type-checked by nir), with export warnings."""
    import nir

    warnings: list[str] = []
    taken = {layer.name for layer in network.layers}
    input_name = _unique("input", taken)
    nodes: dict[str, Any] = {input_name: nir.Input(input_type={"input": np.array([network.n_inputs])})}
    edges: list[tuple[str, str]] = []
    for layer in network.layers:
        nodes[layer.name] = _neuron_node(layer, warnings)
    index = {layer.name: i for i, layer in enumerate(network.layers)}
    for p in network.projections:
        src = input_name if p.source == INPUT else p.source
        back = p.source != INPUT and index[p.source] >= index[p.target]
        extra = p.delay - (1 if back else 0)  # a cycle carries one step by itself
        name = _unique(f"{p.source}->{p.target}", taken)
        head = src
        if extra > 0:
            delay_name = _unique(f"{name}.delay", taken)
            n_src = network.source_size(p)
            nodes[delay_name] = nir.Delay(delay=np.full(n_src, extra * network.dt))
            edges.append((head, delay_name))
            head = delay_name
        if np.any(p.bias != 0):
            nodes[name] = nir.Affine(weight=p.weight, bias=p.bias)
        else:
            nodes[name] = nir.Linear(weight=p.weight)
        edges += [(head, name), (name, p.target)]
    out_name = _unique("output", taken)
    nodes[out_name] = nir.Output(output_type={"output": np.array([network.readout_size])})
    edges.append((network.readout.layer, out_name))
    if network.discretization != "euler":
        warnings.append(f"discretization '{network.discretization}' is evsim's metadata only; NIR readers step with forward Euler")
    meta = {
        "dt": float(network.dt),
        EXTENSION + "format": FORMAT,
        EXTENSION + "name": network.name,
        EXTENSION + "discretization": network.discretization,
        EXTENSION + "layer_order": json.dumps([layer.name for layer in network.layers]),
        EXTENSION + "readout": json.dumps(asdict(network.readout)),
        EXTENSION + "initial_state": json.dumps(
            {"default": asdict(network.initial_state.default), "layers": {k: asdict(v) for k, v in network.initial_state.layers.items()}}
        ),
        EXTENSION + "metadata": json.dumps(network.metadata, default=_jsonable),
    }
    try:
        graph = nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)
    except (ValueError, AssertionError) as exc:  # nir's type check: a bug here, not the user's
        raise RuntimeError(f"the exported graph fails nir's type check: {exc}") from exc
    if network.golden:
        warnings.append(f"the {len(network.golden)} golden record(s) are not written to NIR")
    return graph, warnings


def _jsonable(o):
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)


def export_nir(network: Network, path: str | Path) -> list[str]:
    """Write a network as a .nir file; returns the warnings (what other readers lose)."""
    import nir

    graph, warnings = network_to_graph(network)
    path = Path(path)
    try:
        nir.write(path, graph)
    except OSError as exc:
        raise EvsimError(f"{path}: cannot write ({exc.strerror or exc})") from None
    return warnings
