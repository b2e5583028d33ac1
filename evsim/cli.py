"""`evsim`: a thin command-line shell over evsim.api.

Every user-caused problem arrives here as an EvsimError and leaves as one line on stderr with
exit code 2.  Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from . import api, traces
from .errors import EvsimError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Run trained spiking RNNs spike by spike, as neuromorphic hardware would, with exact operation counts.",
    epilog="Example: evsim run --task ecg --profile loihi   (the shipped model on the shipped QTDB test set)",
)


def _console(stderr: bool = False) -> Console:
    """A console whose tables fit: a pipe or file gets 200 columns (not rich's 80) unless COLUMNS says."""
    console = Console(stderr=stderr)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(stderr=stderr, width=200)
    return console


out = _console()
err = _console(stderr=True)


def show(*tables: Table) -> None:
    """Print tables whose cells wrap on a narrow terminal instead of being cut with an ellipsis."""
    for t in tables:
        for column in t.columns:
            column.overflow = "fold"
        out.print(t)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"evsim {version('evsim')}")
        except PackageNotFoundError:
            typer.echo("evsim (not installed)")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="print evsim's version and exit"),
):
    """Run trained spiking RNNs spike by spike, as neuromorphic hardware would, with exact operation counts."""

TASK_ARGS = {"allow_extra_args": True, "ignore_unknown_options": True}
READOUT_HELP = "read predictions as: spike-count | last | max (membrane) | per-step (argmax at every step); default: the model file's rule"
READOUT_FROM_HELP = "score (or sum) from this step on"
RECORD_HELP = "write each sample's spikes and states to DIR/sample_<i>.npz (docs/format.md)"
NIR_DT = typer.Option(None, "--nir-dt", help="a .nir --weights: the step in seconds (default: the file's metadata)")
NIR_CONVENTIONS = typer.Option("nir", "--nir-conventions", help="a .nir --weights: nir | snntorch (see evsim import --help)")


# ---- shared helpers ----------------------------------------------------------------------


WEIGHTS_HELP = "model file, .nir graph, or a built-in model's name (see `evsim models`)"


def load_model(spec: Optional[str], nir_dt: Optional[float] = None, nir_conventions: str = "nir"):
    """A model file or a built-in model's name (api.load_model), or a .nir file imported on the
    fly (--nir-dt, --nir-conventions)."""
    if spec is not None and str(spec).endswith(".nir"):
        network, notes = api.import_nir(spec, dt=nir_dt, conventions=nir_conventions)
        for note in notes:
            err.print(f"note: {note}", markup=False, highlight=False)
        return network
    if nir_dt is not None or nir_conventions != "nir":
        raise EvsimError("--nir-dt and --nir-conventions apply to .nir files only")
    return api.load_model(spec)[0]


def parse_task_options(task: str, extra: list[str], command_options: tuple[str, ...] = ()) -> dict[str, Any]:
    """`--name value` pairs after the known options, checked against the task's own options.

    An unknown name gets a suggestion drawn from the task's options and the command's own
    (`--limt` -> `--limit`), since a misspelt command option lands here too."""
    import difflib

    from evsim.tasks import get_task

    spec = get_task(task)
    known = {o.name: o for o in spec.options}
    values: dict[str, Any] = {}
    i = 0
    while i < len(extra):
        arg = extra[i]
        if not arg.startswith("--"):
            raise EvsimError(f"unexpected argument '{arg}'")
        key, _, value = arg[2:].partition("=")
        key = key.replace("-", "_")
        if key not in known:
            flag = f"--{key.replace('_', '-')}"
            candidates = [f"--{o.replace('_', '-')}" for o in known] + list(command_options)
            close = difflib.get_close_matches(flag, candidates, n=1, cutoff=0.6)
            if close:
                raise EvsimError(f"no such option {flag}: did you mean {close[0]}?")
            names = ", ".join(f"--{o.replace('_', '-')}" for o in known) or "none"
            raise EvsimError(f"no such option {flag} (the command's options: see --help; task '{task}' options: {names})")
        if not value:
            if i + 1 >= len(extra):
                raise EvsimError(f"option --{key.replace('_', '-')} needs a value")
            i += 1
            value = extra[i]
        kind = known[key].type
        try:
            values[key] = kind(value)
        except ValueError:
            raise EvsimError(f"option --{key.replace('_', '-')}: '{value}' is not a valid {kind.__name__}") from None
        i += 1
    return values


def data_dir_for(task: str, data: Optional[Path]) -> Optional[Path]:
    """--data, else $EVSIM_DATA_DIR for a task that reads files, else None (the task's own default)."""
    from evsim.tasks import get_task

    if data is None and os.environ.get("EVSIM_DATA_DIR") and get_task(task).files:
        return Path(os.environ["EVSIM_DATA_DIR"])
    return data


def open_dataset(task: str, data: Optional[Path], ctx: typer.Context):
    from evsim.tasks import open_task

    own = tuple(name for p in ctx.command.params for name in p.opts if name.startswith("--"))
    options = parse_task_options(task, ctx.args, own)
    return open_task(task, data_dir_for(task, data), **options)


@contextmanager
def progress_bar(label: str, total: int, enabled: bool = True):
    """A progress bar on stderr with samples/s and ETA; yields an `advance(n)` callback.

    Only on a terminal: piped or captured, a bar is noise, and stopping it leaves a blank line
    before an error message."""
    if not enabled or not err.is_terminal:
        yield None
        return
    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
    ]
    with Progress(*columns, console=err, transient=True) as bar:
        task_id = bar.add_task(label, total=total, rate="")

        def advance(n: int) -> None:
            bar.advance(task_id, n)
            speed = bar.tasks[task_id].speed
            bar.update(task_id, rate=f"{speed:,.1f} samples/s" if speed else "")

        yield advance


CLUSTER = typer.Option(None, "--cluster", metavar="ADDRESS", help="run on the Dask scheduler at ADDRESS, e.g. tcp://host:8786 (docs/cluster.md)")
WORKERS = typer.Option(None, "--workers", metavar="N", help="run on a local Dask cluster of N worker processes (docs/cluster.md)")


@dataclass
class ScaleOut:
    """--cluster / --workers: where to run, and where the workers find model and data."""

    cluster: Optional[str]
    workers: Optional[int]
    source: Any

    def __call__(self, label: str, what: str, *args, **kwargs):
        """evsim.distributed.<what>(session, source, *args), with a progress bar over chunks."""
        from . import distributed

        with distributed.connect(self.cluster, self.workers) as session:
            err.print(f"Dask dashboard: {session.dashboard}", markup=False, highlight=False)
            with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("chunks"),
                          TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=err, transient=True) as bar:  # fmt: skip
                task_id = bar.add_task(label, total=None)
                progress = lambda done, total: bar.update(task_id, completed=done, total=total)  # noqa: E731
                return getattr(distributed, what)(session, self.source, *args, progress=progress, **kwargs)


def scale_out(cluster: Optional[str], workers: Optional[int], weights: Optional[str], task: str, data: Optional[Path], extra: list[str]) -> Optional[ScaleOut]:
    if cluster is None and workers is None:
        return None
    from .distributed import Source

    path = api.resolve_model(weights)
    folder = data_dir_for(task, data)
    options = tuple(sorted(parse_task_options(task, extra).items()))
    return ScaleOut(cluster, workers, Source(str(path.resolve()), task, str(folder.resolve()) if folder else None, options))


def local_only(scale: Optional[ScaleOut], weights: Optional[str], readout, readout_from, record) -> None:
    """Workers load the model file as it is: what changes it on the way (a .nir import, --readout)
    or writes files here (--record) runs in this process only."""
    if scale is None:
        return
    if weights is not None and str(weights).endswith(".nir"):
        raise EvsimError("--cluster/--workers take an evsim model file: import the .nir first (evsim import X.nir -o M.h5)")
    for flag, value in (("--readout", readout), ("--readout-from", readout_from), ("--record", record)):
        if value is not None:
            raise EvsimError(f"{flag} runs in this process only: drop it or drop --cluster/--workers")


def n_selected(dataset, offset: int, limit: Optional[int]) -> int:
    stop = dataset.n_samples if limit is None else min(dataset.n_samples, offset + limit)
    return max(stop - offset, 0)


def emit_json(obj: Any) -> None:
    """Strict JSON on stdout: a non-finite number (none should reach here) becomes null, never
    the `NaN`/`Infinity` that strict parsers reject."""
    sys.stdout.write(json.dumps(_finite(obj), indent=2, default=_json_default, allow_nan=False) + "\n")


def _finite(o):
    import math

    import numpy as np

    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v) for v in o]
    if isinstance(o, np.ndarray):
        return _finite(o.tolist())
    if isinstance(o, (float, np.floating)):
        return float(o) if math.isfinite(o) else None
    return o


def _json_default(o):
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(type(o).__name__)


def fmt(x: Optional[float], pct: bool = False) -> str:
    if x is None:
        return "-"
    return f"{100 * x:.2f}%" if pct else f"{x:,.1f}"


# ---- commands ----------------------------------------------------------------------------


@app.command(
    context_settings=TASK_ARGS,
    epilog="Examples: evsim run --task ecg --profile loihi  |  evsim run -w shd_nmi2021 --task shd --data DIR --limit 100 --json",
)
def run(
    ctx: typer.Context,
    weights: Optional[str] = typer.Option(api.DEFAULT_MODEL, "--weights", "-w", help=WEIGHTS_HELP),
    task: str = typer.Option(..., "--task", "-t", help="task name (see `evsim tasks`); task options follow, e.g. --split train"),
    data: Optional[Path] = typer.Option(None, "--data", help="data directory (default: $EVSIM_DATA_DIR, else the task's shipped data)"),
    engine: str = typer.Option("event", "--engine", help="event (spike-driven, Numba) | reference (dense float64 NumPy)"),
    init: str = typer.Option("zeros", "--init", help="initial state: zeros | paper (the model's stored random rule)"),
    seed: int = typer.Option(0, "--seed", help="seed of the paper initial state (an integer >= 0)"),
    limit: Optional[int] = typer.Option(None, "--limit", help="run at most K samples (default: all)"),
    offset: int = typer.Option(0, "--offset", help="skip the first N samples"),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="samples per engine call (default: 32 event, 64 reference)"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object on stdout"),
    profile: Optional[str] = typer.Option(None, "--profile", help="hardware profile: a shipped name (see `evsim profiles`) or a .toml file; adds energy, cores, overflows"),
    csv_path: Optional[Path] = typer.Option(None, "--csv", help="write the report as CSV rows (item, value)"),
    predictions_path: Optional[Path] = typer.Option(None, "--predictions", help="write each sample's label(s) and prediction(s) as CSV"),
    cluster: Optional[str] = CLUSTER,
    workers: Optional[int] = WORKERS,
    readout: Optional[str] = typer.Option(None, "--readout", help=READOUT_HELP),
    readout_from: Optional[int] = typer.Option(None, "--readout-from", help=READOUT_FROM_HELP),
    record: Optional[Path] = typer.Option(None, "--record", help=RECORD_HELP),
    nir_dt: Optional[float] = NIR_DT,
    nir_conventions: str = NIR_CONVENTIONS,
    precision: str = typer.Option("float64", "--precision", help="float64 | float32: weights and state of the float engines"),
):
    """Run a model on a task: accuracy, spikes and exact operation counts."""
    api.check_output_path(csv_path, "--csv")
    api.check_output_path(predictions_path, "--predictions")
    network = api.with_readout(load_model(weights, nir_dt, nir_conventions), readout, readout_from)
    dataset = open_dataset(task, data, ctx)
    api.check_fit(network, dataset)
    scale = scale_out(cluster, workers, weights, task, data, ctx.args)
    local_only(scale, weights, readout, readout_from, record)
    if record is not None:
        traces.prepare_directory(record)  # before the progress bar: an error prints alone
    if profile is not None:
        if precision != "float64":
            raise EvsimError("--precision applies to runs without --profile (a profile sets its own arithmetic)")
        return run_with_profile(network, dataset, task, profile, engine, init, seed, limit, offset, batch_size, as_json, scale, record,
                                csv_path, predictions_path)
    if scale:
        if precision != "float64":
            raise EvsimError("--precision float32 runs on this machine only (not with --cluster/--workers)")
        report = scale(f"{network.name} on {task}", "run", engine, init, seed, offset, limit, batch_size)
    else:
        with progress_bar(f"{network.name} on {task}", n_selected(dataset, offset, limit)) as advance:
            report = api.run(network, dataset, engine, init, seed, offset, limit, batch_size, progress=advance, record=record,
                             precision=precision)
    if record is not None:
        err.print(f"wrote {report.samples} sample traces to {record}")
    finish_run(report, None, as_json, csv_path, predictions_path, network.readout.from_step)
    return 0


def finish_run(report: api.RunReport, hw: Optional[dict], as_json: bool, csv_path, predictions_path, from_step: int) -> None:
    """Print a run (and its hardware section) and write the files asked for."""
    if report.ended_early:
        err.print(f"note: {report.ended_early}", markup=False, highlight=False, soft_wrap=True)
    rows = report_rows({**report.to_dict(), **({"hardware": hw} if hw else {})})
    if csv_path is not None:
        api.write_rows_csv(rows, csv_path)
    if predictions_path is not None:
        api.write_predictions_csv(predictions_path, report.predictions, from_step)
    if as_json:
        emit_json({**report.to_dict(), **({"hardware": hw} if hw else {})})
    else:
        print_run(report)
        if hw:
            print_hardware(hw, f"profile {hw['profile']} ({hw.get('arithmetic', '')})")
    for path in (csv_path, predictions_path):
        if path is not None:
            err.print(f"wrote {path}", markup=False, highlight=False, soft_wrap=True)


def report_rows(d: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """A nested report flattened to (dotted key, value) rows for CSV; lists of numbers joined."""
    rows = []
    for key, value in d.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows.extend(report_rows(value, name + "."))
        elif isinstance(value, list) and not any(isinstance(v, (dict, list)) for v in value):
            rows.append((name, " ".join(str(v) for v in value)))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                rows.extend(report_rows(v, f"{name}.{i}.") if isinstance(v, dict) else [(f"{name}.{i}", v)])
        else:
            rows.append((name, value))
    return rows


def print_run(report: api.RunReport) -> None:
    t = Table(title=f"{report.model} on {report.task} ({report.engine} engine, {report.precision}, init {report.init})", show_header=False)
    t.add_column(style="bold")
    t.add_column(justify="right")
    t.add_row("data", report.source)
    t.add_row("samples", f"{report.samples} x {report.steps} steps")
    t.add_row("accuracy", fmt(report.accuracy, pct=True))
    if report.accuracy_labelled is not None:
        t.add_row("accuracy (labelled steps only)", fmt(report.accuracy_labelled, pct=True))
    t.add_row("seconds", f"{report.seconds:.2f}  ({report.samples / max(report.seconds, 1e-9):,.1f} samples/s)")
    for name, s in report.spikes_per_sample.items():
        t.add_row(f"spikes/sample {name}", f"{s:,.1f}  (rate {report.firing_rate[name]:.4f} per neuron-step)")
    sops = report.sops_per_sample
    for key in ("ac", "ac_structural", "mac", "neuron_updates", "dense_equivalent"):
        t.add_row(f"{key}/sample", fmt(sops[key]))
    if sops["ac"] + sops["mac"]:
        t.add_row("dense / (ac + mac)", f"{sops['dense_equivalent'] / (sops['ac'] + sops['mac']):.1f}x")
    for label, values in neurobench_rows(report.neurobench):
        t.add_row(label, values)
    show(t)
    p = Table(title="operations per sample, by projection")
    for col in ("projection", "events", "ac", "ac_structural", "mac", "dense_equivalent"):
        p.add_column(col, justify="right" if col != "projection" else "left")
    for name, row in sops["by_projection"].items():
        p.add_row(name, *(fmt(row[k]) for k in ("events", "ac", "ac_structural", "mac", "dense_equivalent")))
    show(p)


def neurobench_rows(*blocks: dict[str, Any]) -> list[tuple[str, str]]:
    """The `neurobench` row group: one column per block, joined by ' | ' (audit: float | hw)."""
    shows = [
        ("Footprint", lambda b: f"{b['Footprint']:,} bytes ({b['precision']})"),
        ("ConnectionSparsity", lambda b: f"{b['ConnectionSparsity']:.4f}"),
        ("ActivationSparsity", lambda b: f"{b['ActivationSparsity']:.4f}"),
        *((key, lambda b, key=key: fmt(b["SynapticOperations"][key])) for key in ("Effective_MACs", "Effective_ACs", "Dense")),
    ]
    head = f"NeuroBench {blocks[0]['neurobench_version']} metrics" + (" (float | hw)" if len(blocks) > 1 else "")
    return [(head, "")] + [(f"  {name}", " | ".join(show(b) for b in blocks)) for name, show in shows]


@app.command("import")
def import_(
    source: Path = typer.Argument(..., help="a NIR graph NAME.nir, a lava-dl netx file NAME.net, or a manifest NAME.json (tensors from NAME.npz beside it, or --tensors)"),
    output: Path = typer.Option(..., "--output", "-o", help="the evsim model file to write"),
    tensors: Optional[Path] = typer.Option(None, "--tensors", help="manifest: a .npz or PyTorch .pth state_dict"),
    layers: Optional[str] = typer.Option(None, "--layers", help="netx: import layers A:B (a dense sub-stack; B excluded, as netx's skip_layers=A, num_layers=B)"),
    reset_interval: int = typer.Option(0, "--reset-interval", min=0, help="netx: restart each layer's state every N steps (netx's reset_interval; 0: never)"),
    reset_offset: int = typer.Option(0, "--reset-offset", min=0, help="netx: its reset_offset"),
    dt: Optional[float] = typer.Option(None, "--dt", help="NIR: the step in seconds (default: the file's metadata 'dt')"),
    conventions: str = typer.Option("nir", "--conventions", help="NIR: nir (Euler, reset to v_reset at the spike, CubaLIF reads the previous current) | snntorch (reset by subtraction one step late, CubaLIF reads the new current)"),
    discretization: Optional[str] = typer.Option(None, "--discretization", help="NIR: euler | exact (exp(-dt/tau)); default from --conventions"),
    reset: Optional[str] = typer.Option(None, "--reset", help="NIR: zero (to v_reset) | subtract | none, for every spiking layer"),
    reset_at: Optional[str] = typer.Option(None, "--reset-at", help="NIR: same-step | next-step"),
    cuba_update: Optional[str] = typer.Option(None, "--cuba-update", help="NIR: simultaneous (CubaLIF's membrane reads the previous current) | sequential (the new one)"),
):
    """Convert a NIR graph, a netx network or a checkpoint (manifest) into an evsim model file."""
    api.check_output_path(output, "--output")
    nir_given = any(v is not None for v in (dt, discretization, reset, reset_at, cuba_update)) or conventions != "nir"
    netx_given = layers is not None or reset_interval or reset_offset
    if source.suffix != ".nir" and nir_given:
        raise EvsimError("--dt, --conventions, --discretization, --reset, --reset-at and --cuba-update apply to NIR files (.nir) only")
    if source.suffix != ".net" and netx_given:
        raise EvsimError("--layers, --reset-interval and --reset-offset apply to netx files (.net) only")
    if source.suffix == ".net":
        network = api.import_netx(source, layers, reset_interval, reset_offset)
        for note in network.metadata["netx_import"]["notes"]:
            err.print(f"note: {note}")
    elif source.suffix == ".nir":
        network, notes = api.import_nir(source, dt=dt, conventions=conventions, discretization=discretization,
                                        reset=reset, reset_at=reset_at, cuba_update=cuba_update)
        for note in notes:
            err.print(f"note: {note}", markup=False, highlight=False)
    else:
        network = api.import_manifest(source, tensors)
    api.save_model(network, output)
    err.print(f"wrote {output}: {network.name}, {network.n_neurons} neurons, {len(network.projections)} projections")
    return 0


@app.command()
def export(
    weights: Path = typer.Argument(..., help="the evsim model file to export"),
    output: Path = typer.Option(..., "--output", "-o", help="the file to write: NAME.nir (a NIR graph, docs/nir.md) or NAME.net (a lava-dl netx file)"),
    profile: Optional[str] = typer.Option(None, "--profile", "-p", help="netx: the Loihi profile whose integers the file holds (default loihi2)"),
    as_json: bool = typer.Option(False, "--json", help="netx: the summary, or the design rules broken, as JSON"),
):
    """Write a model as a NIR graph (warning of what other readers lose), or in a Loihi profile's
    integers as a lava-dl netx file (or the design rules it breaks)."""
    from . import audit as hwapi

    network = load_model(weights)
    if output.suffix == ".nir":
        if profile is not None or as_json:
            raise EvsimError("--profile and --json apply to netx files (.net) only")
        for warning in api.export_nir(network, output):
            err.print(f"warning: {warning}", markup=False, highlight=False)
        err.print(f"wrote {output}")
        return 0
    if output.suffix != ".net":
        raise EvsimError(f"--output: write a NIR file (.nir) or a netx file (.net), got '{output}'")
    try:
        summary = hwapi.export_netx(network, profile or "loihi2", output)
    except hwapi.DesignRuleError as exc:
        return _design_rule_exit(exc, as_json)
    if as_json:
        emit_json(summary)
        return 0
    err.print(f"wrote {output}: netx, {len(summary['layers']) - 1} dense layer(s), Lava's integers of profile {summary['profile']}")
    for p in summary["delays_raised"]:
        err.print(f"note: {p} delivers one step later (delay 1): Lava's Dense delivers at the next step")
    return 0


@app.command(epilog="Examples: evsim info  |  evsim info ssc_nmi2021 --json  |  evsim info my_model.h5")
def info(
    weights: Optional[str] = typer.Argument(api.DEFAULT_MODEL, help=WEIGHTS_HELP),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object on stdout"),
):
    """Layers, parameters, sizes, metadata and content checksum of a model file."""
    d = api.describe(*api.load_model(weights))
    if as_json:
        emit_json(d)
        return 0
    out.print(
        f"[bold]{d['name']}[/]: {d['n_inputs']} inputs, {d['neurons']} neurons, {d['synapses']:,} synapses, "
        f"dt {d['dt']}, {d['discretization']} discretization"
        + (f", restarts every {d['reset_interval']} steps (offsets {d['reset_offsets']})" if d["reset_interval"] else "")
    )
    t = Table(title="layers")
    for col in ("layer", "neuron", "size", "parameters", "options"):
        t.add_column(col)
    r = lambda v: "-" if v is None else (f"{v['min']:.3g}" if v["min"] == v["max"] else f"{v['min']:.3g}..{v['max']:.3g}")  # noqa: E731
    for layer in d["layers"]:
        params = ", ".join(f"{k} {r(v)}" for k, v in layer["params"].items())
        options = ", ".join(f"{k} {v}" for k, v in layer["options"].items()) or "-"
        t.add_row(layer["name"], layer["neuron"], str(layer["size"]), params, options)
    show(t)
    p = Table(title="projections")
    for col in ("projection", "shape", "delay", "non-zero", "weight", "bias"):
        p.add_column(col)
    for pr in d["projections"]:
        p.add_row(pr["name"], "x".join(map(str, pr["shape"])), str(pr["delay"]), f"{pr['nonzero']:,}/{pr['synapses']:,}", r(pr["weight"]), r(pr["bias"]))
    show(p)
    ro = d["readout"]
    out.print(f"readout: {ro['aggregate']} of {ro['variable']} of '{ro['layer']}' from step {ro['from_step']}")
    out.print(f"paper initial state: {d['initial_state']}")
    out.print(f"golden records: {d['golden_records']}")
    checksum = {
        "verified": "verified (the file's content matches its stored SHA-256)",
        "absent": "none stored (a file written before evsim kept checksums): integrity not verified",
    }[d["content_checksum"]]
    out.print(f"content checksum: {checksum}", markup=False, highlight=False)
    for key, value in d["metadata"].items():
        out.print(f"{key}: {value}", markup=False, highlight=False)
    return 0


@app.command(epilog="Example: evsim models --json")
def models(as_json: bool = typer.Option(False, "--json", help="print one JSON object on stdout")):
    """The built-in models (evsim-trained and the paper authors'), usable as --weights NAME."""
    rows = api.list_models()
    if as_json:
        emit_json(rows)
        return 0
    t = Table(title="built-in models (--weights NAME)")
    for col in ("name", "task", "layers", "synapses", "origin", "claimed accuracy"):
        t.add_column(col)
    for r in rows:
        claimed = "-" if r["claimed_accuracy"] is None else f"{100 * r['claimed_accuracy']:.2f}%"
        t.add_row(r["name"], str(r["task"] or "-"), r["layers"], f"{r['synapses']:,}", r["origin"], claimed)
    show(t)
    return 0


@app.command(epilog="Example: evsim profiles --json")
def profiles(as_json: bool = typer.Option(False, "--json", help="print one JSON object on stdout")):
    """The shipped hardware profiles (--profile NAME): arithmetic, widths, limits, energy source."""
    from . import audit as hwapi

    rows = hwapi.list_profiles()
    if as_json:
        emit_json(rows)
        return 0
    t = Table(title="hardware profiles (--profile NAME, or a .toml file: docs/hardware.md)")
    for col in ("name", "arithmetic", "weights | state bits", "description"):
        t.add_column(col)
    for r in rows:
        bits = f"{r['weights']['bits']} | {r['state']['membrane_bits']}" if r["arithmetic"] == "fixed" else "float64"
        t.add_row(r["name"], r["arithmetic"], bits, r["description"])
    show(t)
    return 0


@app.command(context_settings=TASK_ARGS, epilog="Examples: evsim crosscheck -w ecg  |  evsim crosscheck -w ecg_icons2020 --task ecg --init paper")
def crosscheck(
    ctx: typer.Context,
    weights: Optional[str] = typer.Option(api.DEFAULT_MODEL, "--weights", "-w", help=WEIGHTS_HELP),
    task: Optional[str] = typer.Option(None, "--task", "-t", help="task to run both engines on (without: golden records only)"),
    data: Optional[Path] = typer.Option(None, "--data", help="data directory (default: $EVSIM_DATA_DIR, else the task's shipped data)"),
    init: str = typer.Option("zeros", "--init", help="initial state: zeros | paper (the model's stored random rule)"),
    seed: int = typer.Option(0, "--seed", help="seed of the paper initial state (an integer >= 0)"),
    limit: Optional[int] = typer.Option(None, "--limit", help="check at most K samples (default: all)"),
    offset: int = typer.Option(0, "--offset", help="skip the first N samples"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object on stdout"),
    readout: Optional[str] = typer.Option(None, "--readout", help=READOUT_HELP),
    readout_from: Optional[int] = typer.Option(None, "--readout-from", help=READOUT_FROM_HELP),
    nir_dt: Optional[float] = NIR_DT,
    nir_conventions: str = NIR_CONVENTIONS,
    precision: str = typer.Option("float64", "--precision", help="float64 | float32: weights and state of the float engines"),
):
    """Both engines (and the golden records) on the same inputs; exit 1 on any disagreement."""
    network = api.with_readout(load_model(weights, nir_dt, nir_conventions), readout, readout_from)
    dataset = open_dataset(task, data, ctx) if task else None
    total = n_selected(dataset, offset, limit) if dataset is not None else 0
    if dataset is not None:
        api.check_fit(network, dataset)
    with progress_bar(f"crosscheck {network.name}", total, enabled=dataset is not None) as advance:
        report = api.crosscheck(network, dataset, init, seed, offset, limit, progress=advance, precision=precision)
    if as_json:
        emit_json(report.to_dict())
    else:
        t = Table(title=f"crosscheck {report.model} ({report.precision})" + (f" on {report.task}" if report.task else ""), show_header=False)
        t.add_column(style="bold")
        t.add_column(justify="right")
        if report.samples:
            t.add_row("samples", str(report.samples))
            t.add_row("spike-train agreement", f"{100 * report.spike_agreement:.4f}%  ({report.samples_identical}/{report.samples} samples identical)")
            t.add_row("prediction agreement", f"{100 * report.prediction_agreement:.2f}%")
            t.add_row("max |d mem|", f"{report.max_abs_mem_diff:.3g}")
            t.add_row("max |d readout|", f"{report.max_abs_readout_diff:.3g}")
            t.add_row("SOP counts agree", str(report.sops_agree))
            t.add_row("ac/sample event | reference", f"{report.sops_event['ac']:,.1f} | {report.sops_reference['ac']:,.1f}")
        for g in report.golden:
            status = "ok" if g.passed else "FAIL"
            t.add_row(f"golden record {g.index}", f"{status}: max |d| {g.max_abs_diff:.3g} (tolerance {g.tolerance:g})")
        t.add_row("result", "[green]PASS[/]" if report.passed else "[red]FAIL[/]")
        show(t)
    return 0 if report.passed else 1


@app.command(context_settings=TASK_ARGS, epilog="Examples: evsim stream --task ecg --limit 20  |  evsim stream -w shd_nmi2021 --task random --n 8")
def stream(
    ctx: typer.Context,
    weights: Optional[str] = typer.Option(api.DEFAULT_MODEL, "--weights", "-w", help=WEIGHTS_HELP),
    task: Optional[str] = typer.Option(None, "--task", "-t", help="task whose samples are fed step by step; task options follow"),
    events: Optional[Path] = typer.Option(None, "--events", help="read events instead: a file of 'step channel [value]' lines ('-' for stdin; '---' ends a sample)"),
    steps: Optional[int] = typer.Option(None, "--steps", help="with --events: steps per sample (default: up to the last event)"),
    data: Optional[Path] = typer.Option(None, "--data", help="data directory (default: $EVSIM_DATA_DIR, else the task's shipped data)"),
    profile: str = typer.Option("cmos45-fp32", "--profile", help="float hardware profile that prices each step's operations"),
    init: str = typer.Option("zeros", "--init", help="initial state: zeros | paper"),
    seed: int = typer.Option(0, "--seed"),
    limit: Optional[int] = typer.Option(None, "--limit", help="stream at most K samples of the task"),
    offset: int = typer.Option(0, "--offset"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object on stdout"),
    precision: str = typer.Option("float64", "--precision", help="float64 | float32: weights and state of the event engine"),
):
    """Feed samples one step at a time, as a device receives them: latency and energy per step."""
    from . import stream as streaming

    network = load_model(weights)
    if (task is None) == (events is None):
        raise EvsimError("stream: give either --task T or --events FILE ('-' for stdin)")
    if steps is not None and steps <= 0:
        raise EvsimError(f"--steps must be positive, got {steps}")
    if task is not None:
        if steps is not None:
            raise EvsimError("--steps applies to --events only (a task sets its own length)")
        dataset = open_dataset(task, data, ctx)
        api.check_fit(network, dataset)
        samples = streaming.task_samples(dataset, offset, limit)
        total, source, score = n_selected(dataset, offset, limit), dataset.source, dataset.n_classes is not None
        report = _stream_with_bar(streaming, network, samples, profile, init, seed, source, score, total, precision)
    else:
        if ctx.args:
            raise EvsimError(f"unexpected argument '{ctx.args[0]}' (task options need --task)")
        if str(events) == "-":
            samples = streaming.read_events(sys.stdin, network.n_inputs, steps)
            report = streaming.stream(network, samples, profile, init, seed, "stdin", precision=precision)
        else:
            if not events.is_file():
                raise EvsimError(f"--events: {events} is not a file")
            with open(events) as f:
                samples = streaming.read_events(f, network.n_inputs, steps, where=str(events))
                report = streaming.stream(network, samples, profile, init, seed, str(events), precision=precision)
    if as_json:
        emit_json(report.to_dict())
        return 0
    t = Table(title=f"stream {report.model} ({report.source})", show_header=False)
    t.add_column(style="bold")
    t.add_column(justify="right")
    t.add_row("samples", f"{report.samples} ({report.steps} steps)")
    lat = report.latency_us
    t.add_row("latency per step", f"median {lat['median']:.1f} µs, p99 {lat['p99']:.1f} µs, max {lat['max']:.1f} µs")
    t.add_row("steps/s (whole loop)", f"{report.steps_per_s:,.0f}")
    if report.energy_per_step_j is not None:
        e = report.energy_per_step_j
        t.add_row(f"energy per step ({report.profile})", f"mean {_joules(e['mean'])}, median {_joules(e['median'])}, p99 {_joules(e['p99'])}")
        t.add_row("energy per sample", _joules(report.energy_per_sample_j))
    if report.accuracy is not None:
        t.add_row("accuracy", fmt(report.accuracy, pct=True))
    elif report.samples <= 20 and not isinstance(report.predictions[0], list):
        t.add_row("predictions", " ".join(str(p) for p in report.predictions))
    show(t)
    for note in report.notes:
        err.print(f"note: {note}")
    return 0


def _stream_with_bar(streaming, network, samples, profile, init, seed, source, score, total, precision):
    with progress_bar(f"stream {network.name}", total) as advance:
        return streaming.stream(network, samples, profile, init, seed, source, score, on_sample=advance, precision=precision)


@app.command(epilog="Example: evsim tasks --json")
def tasks(as_json: bool = typer.Option(False, "--json", help="print one JSON object on stdout")):
    """The tasks evsim knows, with their options and the data files they expect."""
    from evsim.tasks import TASKS

    if as_json:
        emit_json(
            {
                name: {
                    "summary": s.summary,
                    "files": s.files,
                    "options": {o.name: {"type": o.type.__name__, "default": o.default, "help": o.help} for o in s.options},
                }
                for name, s in TASKS.items()
            }
        )
        return 0
    t = Table(title="tasks")
    for col in ("task", "what", "expects (under --data)", "options"):
        t.add_column(col)
    for name, s in TASKS.items():
        opts = "\n".join(f"--{o.name.replace('_', '-')} {o.type.__name__} = {o.default!r}: {o.help}" for o in s.options)
        t.add_row(name, s.summary, "\n".join(s.files) or "(built in)", opts)
    show(t)
    return 0


# ---- hardware profiles: run --profile, audit, sweep (docs/hardware.md) --------------------------


def _design_rule_exit(exc, as_json: bool):
    """A design-rule error: one line on stderr, or the structured list on stdout with --json."""
    if as_json:
        from dataclasses import asdict

        emit_json({"error": "design rules violated", "profile": exc.profile, "violations": [dict(asdict(v), message=v.message()) for v in exc.violations]})
        raise typer.Exit(2)
    raise exc


def _joules(x: Optional[float]) -> str:
    if x is None:
        return "-"
    for unit, scale in (("J", 1.0), ("mJ", 1e-3), ("µJ", 1e-6), ("nJ", 1e-9), ("pJ", 1e-12)):
        if abs(x) >= scale:
            return f"{x / scale:,.3f} {unit}"
    return f"{x:.3g} J"


def print_hardware(hw: dict[str, Any], title: str) -> None:
    t = Table(title=title, show_header=False)
    t.add_column(style="bold")
    t.add_column(justify="right")
    energy = hw.get("energy_per_inference_j")
    if energy and "modelled" in energy:  # a real-time chip: measured power x duration, modelled cycles
        total = energy["total"]
        t.add_row("energy / inference", f"{_joules(total)}  ({energy['method']})" if total is not None else f"- ({'; '.join(energy['unpriced'])})")
        m = energy["modelled"]
        if m["cycles_per_step"] is not None:
            clock = f", real time needs >= {m['min_clock_hz'] / 1e6:.3f} MHz" if m["min_clock_hz"] else ""
            t.add_row("  clock cycles / step (modelled)", f"{m['cycles_per_step']:,.0f}{clock}")
    elif energy:
        t.add_row("energy / inference", f"{_joules(energy['total'])}  ({_joules(energy['per_step'])} per step)")
        for kind, j in energy["by_kind"].items():
            t.add_row(f"  {kind}", _joules(j))
        for layer, j in energy["by_layer"].items():
            t.add_row(f"  layer {layer}", _joules(j))
        for layer, kinds in (energy.get("by_layer_kind") or {}).items():
            t.add_row(f"  layer {layer} by kind", ", ".join(f"{k} {_joules(v)}" for k, v in kinds.items() if v))
        if energy["unpriced"]:
            t.add_row("  not priced by the profile", ", ".join(energy["unpriced"]))
    else:
        t.add_row("energy / inference", "- (the profile has no energy figures)")
    cores = hw["cores"]
    t.add_row("cores used", "-" if cores["used"] is None else str(cores["used"]))
    for c in cores["per_core"]:
        util = ", ".join(f"{k} {100 * v:.1f}%" for k, v in c["utilization"].items())
        t.add_row(f"  core {c['index']}", f"{', '.join(f'{k}:{v}' for k, v in c['layers'].items())}  ({util})")
    viol = hw["violations"]
    t.add_row("violations", "none" if not viol else f"{len(viol)} (ignored on request)" if viol[0]["ignored"] else str(len(viol)))
    for v in viol:
        t.add_row("", v["message"])
    ovf = hw.get("overflows")
    if ovf is not None:
        t.add_row("overflows (saturate/wrap)", f"{ovf['total']:,} ({ovf['per_sample']:,.1f} per sample)")
    base = hw.get("baselines")
    if base:
        for kind in ("rnn", "lstm", "gru"):
            b = base[kind]
            ratio = ""
            if b["ratio_to_srnn"]:
                r = b["ratio_to_srnn"]
                ratio = f"; costs {r:.1f}x the SRNN's energy" if r >= 1 else f"; the SRNN costs {1 / r:.1f}x more than this baseline"
            t.add_row(f"dense {kind.upper()} baseline", f"{b['macs_per_inference']:,} MAC, {_joules(b['energy_per_inference_j'])}{ratio}")
        if base["mac_pj_from"] != hw["profile"]:
            t.add_row("", f"(baseline MACs priced at {base['mac_pj']} pJ from profile '{base['mac_pj_from']}')")
    show(t)


def run_with_profile(network, dataset, task, profile, engine, init, seed, limit, offset, batch_size, as_json, scale=None, record=None,
                     csv_path=None, predictions_path=None) -> int:
    from . import audit as hwapi

    prof = hwapi.as_profile(profile)
    try:
        hwapi.prepare_hardware(network, prof)  # design rules first: an error prints alone, before any progress bar
        label = f"{network.name} on {task} ({prof.name})"
        if scale:
            report, hw = scale(label, "run", engine, init, seed, offset, limit, batch_size, profile=prof)
        else:
            with progress_bar(label, n_selected(dataset, offset, limit)) as advance:
                report, hw = hwapi.run_profile(network, dataset, prof, engine, init, seed, offset, limit, batch_size, progress=advance, record=record)
    except hwapi.DesignRuleError as exc:
        return _design_rule_exit(exc, as_json)
    if record is not None:
        err.print(f"wrote {report.samples} sample traces to {record}")
    finish_run(report, hw, as_json, csv_path, predictions_path, network.readout.from_step)
    return 0


@app.command(context_settings=TASK_ARGS, epilog="Example: evsim audit --task ecg --profile loihi --csv audit.csv --predictions pred.csv")
def audit(
    ctx: typer.Context,
    weights: Optional[str] = typer.Option(api.DEFAULT_MODEL, "--weights", "-w", help=WEIGHTS_HELP),
    task: str = typer.Option(..., "--task", "-t", help="task name; task options follow"),
    profile: str = typer.Option(..., "--profile", help="hardware profile: a shipped name or a .toml file"),
    data: Optional[Path] = typer.Option(None, "--data", help="data directory (default: $EVSIM_DATA_DIR, else the task's shipped data)"),
    engine: str = typer.Option("event", "--engine", help="hardware side: event | reference (the dense fixed-point reference)"),
    fanin_prune: Optional[str] = typer.Option(None, "--fanin-prune", help="remedy for fan-in limits: magnitude (keep the largest |w| per neuron)"),
    fanout_prune: Optional[str] = typer.Option(None, "--fanout-prune", help="remedy for fan-out limits: magnitude"),
    ignore_violations: bool = typer.Option(False, "--ignore-violations", help="simulate even if the network breaks the chip's limits (listed in the report)"),
    export_config: Optional[Path] = typer.Option(None, "--export-config", help="Xylo profiles: write the chip configuration (.npz, XyloSim.from_specification's fields)"),
    limit: Optional[int] = typer.Option(None, "--limit", help="run at most K samples (default: all)"),
    offset: int = typer.Option(0, "--offset", help="skip the first N samples"),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="samples per engine call (default: 32)"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object on stdout"),
    csv_path: Optional[Path] = typer.Option(None, "--csv", help="write the report as CSV rows (item, value)"),
    predictions_path: Optional[Path] = typer.Option(None, "--predictions", help="write each sample's label(s) and float and hardware prediction(s) as CSV"),
    cluster: Optional[str] = CLUSTER,
    workers: Optional[int] = WORKERS,
    readout: Optional[str] = typer.Option(None, "--readout", help=READOUT_HELP),
    readout_from: Optional[int] = typer.Option(None, "--readout-from", help=READOUT_FROM_HELP),
    record: Optional[Path] = typer.Option(None, "--record", help=RECORD_HELP + "; the hardware side"),
    nir_dt: Optional[float] = NIR_DT,
    nir_conventions: str = NIR_CONVENTIONS,
):
    """Float and hardware side by side: accuracy, agreement, counts, energy, cores, violations, overflows."""
    from . import audit as hwapi

    api.check_output_path(csv_path, "--csv")
    api.check_output_path(predictions_path, "--predictions")
    prof = hwapi.as_profile(profile)
    network = api.with_readout(load_model(weights, nir_dt, nir_conventions), readout, readout_from)
    dataset = open_dataset(task, data, ctx)
    api.check_fit(network, dataset)
    scale = scale_out(cluster, workers, weights, task, data, ctx.args)
    local_only(scale, weights, readout, readout_from, record)
    if record is not None:
        traces.prepare_directory(record)
    try:
        hw = hwapi.prepare_hardware(network, prof, fanin_prune, fanout_prune, ignore_violations)  # design rules first
        if export_config is not None:
            path = hwapi.export_xylo_config(hw, export_config, hwapi.step_seconds(dataset))
            err.print(f"wrote the Xylo configuration to {path}")
        label = f"audit {network.name} on {prof.name}"
        if scale:
            report = scale(label, "audit", prof, engine, offset, limit, batch_size, fanin_prune=fanin_prune,
                           fanout_prune=fanout_prune, ignore_violations=ignore_violations)  # fmt: skip
        else:
            with progress_bar(label, n_selected(dataset, offset, limit)) as advance:
                report = hwapi.audit(
                    network, dataset, prof, engine, offset, limit, batch_size, advance, fanin_prune, fanout_prune, ignore_violations, record
                )
    except hwapi.DesignRuleError as exc:
        return _design_rule_exit(exc, as_json)
    if record is not None:
        err.print(f"wrote {report.samples} sample traces (hardware side) to {record}")
    if report.ended_early:
        err.print(f"note: {report.ended_early}", markup=False, highlight=False, soft_wrap=True)
    if csv_path is not None:
        api.write_rows_csv(report_rows(report.to_dict()), csv_path)
    if predictions_path is not None:
        api.write_predictions_csv(predictions_path, report.predictions, network.readout.from_step)
    if as_json:
        emit_json(report.to_dict())
        return 0
    t = Table(title=f"audit {report.model} on {report.task}: profile {report.profile} ({report.arithmetic})", show_header=False)
    t.add_column(style="bold")
    t.add_column(justify="right")
    t.add_row("samples", f"{report.samples} x {report.steps} steps (from zeros)")
    t.add_row("accuracy float | hardware", f"{fmt(report.accuracy_float, True)} | {fmt(report.accuracy_hw, True)}")
    if report.accuracy_labelled_float is not None:
        t.add_row("labelled steps only", f"{fmt(report.accuracy_labelled_float, True)} | {fmt(report.accuracy_labelled_hw, True)}")
    ag = report.agreement
    t.add_row("prediction agreement", fmt(ag["predictions"], True))
    t.add_row("spike-train agreement", f"{fmt(ag['spikes'], True)} ({ag['samples_identical']}/{report.samples} samples identical)")
    for name, s in report.spikes_per_sample.items():
        t.add_row(f"spikes/sample {name} float | hw", f"{s['float']:,.1f} | {s['hw']:,.1f}")
    for key in ("ac", "mac", "neuron_updates"):
        t.add_row(f"{key}/sample (hw)", fmt(report.sops_per_sample[key]))
    for label, values in neurobench_rows(report.neurobench_float, report.neurobench):
        t.add_row(label, values)
    for name, r in report.remedies.items():
        if isinstance(r, dict):
            t.add_row(f"remedy {name}", f"{sum(r['removed'].values()):,} synapses removed (limit {r['limit']})")
    if "accuracy_float_after_remedy" in report.remedies:
        t.add_row("float accuracy before | after remedy", f"{fmt(report.remedies['accuracy_float_before_remedy'], True)} | {fmt(report.remedies['accuracy_float_after_remedy'], True)}")
    show(t)
    print_hardware(
        {"profile": report.profile, "energy_per_inference_j": report.energy_per_inference_j, "cores": report.cores,
         "violations": report.violations, "overflows": report.overflows, "baselines": report.baselines},
        f"hardware: {report.profile}",
    )  # fmt: skip
    if report.findings:
        print_findings(report.findings)
    for note in report.notes:
        err.print(f"note: {note}")
    return 0


def print_findings(findings: list[dict[str, Any]]) -> None:
    """A Loihi profile's findings, each remedy with what the chip reaches with it."""
    t = Table(title="findings (accuracy on the chip, or agreement with float where there are no labels)")
    for col in ("finding", "layer", "why", "remedy", "result"):
        t.add_column(col)
    for f in findings:
        if f["finding"] == "delivery_delay":
            t.add_row("delivery delay", ", ".join(p.replace("projection ", "") for p in f["projections"]), f["why"], "(none: the chip's timing)",
                      f"float as trained {fmt(f['accuracy_float_as_trained'], True)}, with the delays {fmt(f['accuracy_float_with_chip_delays'], True)}")
            continue
        layer = f["layer"] + (f" ({f['network']})" if f.get("network", "as run") != "as run" else "")
        for k, r in enumerate(f["remedies"]):
            result = fmt(r["accuracy_hw"], True) if r["accuracy_hw"] is not None else f"agreement {fmt(r['agreement_with_float'], True)}"
            t.add_row(f["finding"].replace("_", " ") if k == 0 else "", layer if k == 0 else "", f["why"] if k == 0 else "", r["remedy"], result)
    show(t)


@app.command(context_settings=TASK_ARGS, epilog="Example: evsim sweep --task ecg --profile loihi --weight-bits 4..8 --state-bits 14,16,20 --csv sweep.csv")
def sweep(
    ctx: typer.Context,
    weights: Optional[str] = typer.Option(api.DEFAULT_MODEL, "--weights", "-w", help=WEIGHTS_HELP),
    task: str = typer.Option(..., "--task", "-t", help="task name; task options follow"),
    profile: str = typer.Option(..., "--profile", help="a fixed-point hardware profile"),
    weight_bits: Optional[str] = typer.Option(None, "--weight-bits", help="weight widths, e.g. 2..16 or 4,8,16"),
    state_bits: Optional[str] = typer.Option(None, "--state-bits", help="state widths (membrane, current, adaptation alike)"),
    data: Optional[Path] = typer.Option(None, "--data", help="data directory (default: $EVSIM_DATA_DIR, else the task's shipped data)"),
    fanin_prune: Optional[str] = typer.Option(None, "--fanin-prune", help="remedy for fan-in limits: magnitude"),
    fanout_prune: Optional[str] = typer.Option(None, "--fanout-prune", help="remedy for fan-out limits: magnitude"),
    csv_path: Optional[Path] = typer.Option(None, "--csv", help="write the table as CSV"),
    plot_path: Optional[Path] = typer.Option(None, "--plot", help="write a PNG of accuracy against energy (needs the plot extra)"),
    limit: Optional[int] = typer.Option(None, "--limit", help="run at most K samples (default: all)"),
    offset: int = typer.Option(0, "--offset", help="skip the first N samples"),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="samples per engine call (default: 32)"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object on stdout"),
    cluster: Optional[str] = CLUSTER,
    workers: Optional[int] = WORKERS,
):
    """Accuracy against energy over weight (and state) bit widths of a fixed-point profile."""
    from . import audit as hwapi

    api.check_output_path(csv_path, "--csv")
    api.check_output_path(plot_path, "--plot")
    wb = hwapi.parse_bits(weight_bits, "--weight-bits")
    sb = hwapi.parse_bits(state_bits, "--state-bits")
    prof = hwapi.as_profile(profile)
    network = load_model(weights)
    dataset = open_dataset(task, data, ctx)
    api.check_fit(network, dataset)
    if plot_path is not None:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise EvsimError("--plot needs matplotlib: pip install 'evsim[plot]'") from None
    label = f"sweep {network.name} on {prof.name}"
    scale = scale_out(cluster, workers, weights, task, data, ctx.args)
    if scale:
        report = scale(label, "sweep", prof, wb, sb, offset, limit, batch_size, fanin_prune=fanin_prune, fanout_prune=fanout_prune)
    else:
        n_settings = len(wb or [None]) * len(sb or [None])
        with progress_bar(label, n_settings) as advance:
            report = hwapi.sweep(network, dataset, prof, wb, sb, offset, limit, batch_size, advance, fanin_prune, fanout_prune)
    if csv_path is not None:
        report.write_csv(csv_path)
    if plot_path is not None:
        report.plot(plot_path)
    if as_json:
        emit_json(report.to_dict())
        return 0
    t = Table(title=f"sweep {report.model} on {report.task}: {report.profile} (float {fmt(report.accuracy_float, True)})")
    for col in ("w bits", "s bits", "accuracy", "agree", "energy", "ac/sample", "overflows", "w=0", "viol."):
        t.add_column(col, justify="right")
    for r in report.rows:
        t.add_row(
            str(r["weight_bits"]), str(r["state_bits"]), fmt(r["accuracy"], True), fmt(r["prediction_agreement"], True),
            _joules(r["energy_j"]), fmt(r["ac_per_sample"]), f"{r['overflows']:,}", str(r["weights_zeroed"]), str(r["violations"]),
        )  # fmt: skip
    show(t)
    out.print(report.breakdown.get("note", ""), markup=False, highlight=False)
    for path in (csv_path, plot_path):
        if path is not None:
            err.print(f"wrote {path}")
    return 0


# Training (optional torch extra): thin shells over evsim.training, which imports torch only when run.
from . import cli_train  # noqa: E402

app.command("train")(cli_train.train)
app.command("encode-ecg")(cli_train.encode_ecg)


def main(argv: Optional[list[str]] = None) -> None:
    """Console entry point: EvsimError -> one line on stderr, exit code 2."""
    import warnings

    command = typer.main.get_command(app)
    # NumPy's floating-point warnings (an underflowing decay, an overflowing softmax of a
    # hostile model) are not user-facing: results are checked for finiteness where it matters.
    warnings.filterwarnings("ignore", category=RuntimeWarning)
    try:
        code = command.main(args=argv, prog_name="evsim", standalone_mode=False)
    except EvsimError as exc:
        err.print(f"evsim: error: {exc}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        err.print("interrupted")
        sys.exit(130)
    except Exception as exc:
        # Usage errors (a missing or malformed option) come as click exceptions; typer bundles
        # its own click from 0.2x on, so they are recognised by what they do, not by class.
        # They leave as one line, like every other user error (click's own is several).
        if hasattr(exc, "format_message") and isinstance(getattr(exc, "exit_code", None), int):
            message = " ".join(exc.format_message().split())
            if message:
                hint = f" (see evsim {exc.ctx.info_name} --help)" if getattr(exc, "ctx", None) is not None and exc.ctx.parent else ""
                err.print(f"evsim: error: {message}{hint}", markup=False, highlight=False, soft_wrap=True)
            sys.exit(exc.exit_code)
        if type(exc).__name__ == "Abort":
            err.print("aborted")
            sys.exit(130)
        raise
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
