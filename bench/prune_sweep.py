"""Benchmark: pruning criteria x global rates on one flow's network, same fine-tune budget for all.

Usage:
  python bench/prune_sweep.py train    FLOW --out DIR [--seeds 0 1 2]
  python bench/prune_sweep.py prune    FLOW --out DIR [--criteria ...] [--rates ...] [--distill on off] [--jobs N]
                                       [--keep-macs 0.5 0.25]   (prune to these shares of the MACs instead)
  python bench/prune_sweep.py retrain  FLOW --out DIR --criteria pcas --keep-macs 0.25 [--seeds ...]
                                       (the control: those runs' kept widths trained from scratch)
  python bench/prune_sweep.py validate FLOW --out DIR          (validation accuracy of runs recorded without it)
  python bench/prune_sweep.py estimate FLOW --out DIR          (FINN estimates of every pruned network)
  python bench/prune_sweep.py table    FLOW --out DIR          (BENCHMARKS.md rows, mean over seeds)
                                       [--seeds ...] [--criteria ...]   (only those runs)
                                       [--pivot [--metric val]]   (criteria x targets)
  python bench/prune_sweep.py compare  FLOW --out DIR          (smallest design at each reference's accuracy)

A criterion is a name or ``name:key=value,...`` with its settings (``pcas:gate=sigmoid``,
``l1:group_reduction=mean``; ``cost_aware=true`` or ``schedule=iterative`` there set the prune section's);
``torch-pruning:importance=l1`` (or ``taylor``) scores with Torch-Pruning's group importance instead
(``bench/torch_pruning_peer.py``; ``pip install -r requirements/bench.txt``).
``train`` trains the unpruned network once per seed; ``prune`` runs every (seed, criterion, rate, distill)
in its own single-threaded process, one-shot, fine-tuned for ``--finetune-epochs`` at the flow's prune
settings, and records validation and test accuracy (settings are chosen on validation; the test set is read once
per final model). ``retrain`` trains a run's widths from a fresh initialization as the flow's train section says,
to tell a criterion's allocation across layers from its choice of channels within one; ``estimate`` exports
each network and asks FINN for LUT and fps at the flow's target (it needs no training, so it can run on another
machine than ``prune``). Results are JSON files under DIR/runs. A criterion's value may be a mapping:
``pcas:augment={shift: 2, flip: true},spread=0``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from itertools import product
from multiprocessing import get_context
from pathlib import Path

import torch
import yaml
from data_root import search_path

from hwcompress.boards import cycles_per_image, get_board
from hwcompress.config import FlowConfig, PruneConfig, load_flow
from hwcompress.data import load_splits
from hwcompress.fileio import write_json
from hwcompress.models import build_model
from hwcompress.prune.engine import network_macs, prune_model
from hwcompress.prune.groups import coupling_groups
from hwcompress.prune.surgery import prune_channels
from hwcompress.train.distill import Distillation
from hwcompress.train.loop import accuracy, fit

#: FINN's LUT estimates of the unpruned reference flows at 100k fps on PYNQ-Z2 (bench/reference_mlps.py,
#: BENCHMARKS.md "Reference MLPs"), and their published top-1 (brevitas bnn_pynq).
REFERENCES = {
    "tfc-w1a1": (93.17, 4_884), "tfc-w1a2": (94.79, 4_992), "tfc-w2a2": (96.60, 4_992),
    "sfc-w1a1": (97.81, 17_206), "sfc-w1a2": (98.31, 18_965), "sfc-w2a2": (98.66, 18_956),
}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("phase", choices=("train", "prune", "retrain", "validate", "estimate", "table", "compare"))
    parser.add_argument("flow", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", help="default: 0 (table: every one run)")
    parser.add_argument("--criteria", nargs="+", help="default: random l1 bn taylor pcas (table: every one run)")
    parser.add_argument("--rates", type=float, nargs="+", default=[0.5, 0.7, 0.9])
    parser.add_argument("--keep-macs", type=float, nargs="+", default=None, help="MAC shares instead of rates")
    parser.add_argument("--distill", nargs="+", choices=("on", "off"), default=["on"])
    parser.add_argument("--finetune-epochs", type=int, default=5)
    parser.add_argument("--granularity", type=int, default=None, help="prune: fixed granularity (default: the flow's)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count())
    parser.add_argument("--threads", type=int, default=None, help="train: CPU threads (default: all cores)")
    parser.add_argument("--pivot", action="store_true", help="table: a row per criterion, a column per target")
    parser.add_argument("--metric", choices=("test", "val"), default="test", help="table --pivot: the accuracy shown")
    args = parser.parse_args()
    criteria = args.criteria or ["random", "l1", "bn", "taylor", "pcas"]
    seeds = args.seeds or [0]
    targets = [("macs", share) for share in args.keep_macs] if args.keep_macs else [("rate", r) for r in args.rates]
    flow = load_flow(args.flow)
    if args.phase == "train":
        for seed in seeds:
            train_base(flow, seed, args.out, args.threads)
    elif args.phase == "prune":
        jobs = list(product(seeds, criteria, targets, args.distill))
        with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool:
            futures = [
                pool.submit(prune_one, args.flow, args.out, args.finetune_epochs, args.granularity, *job)
                for job in jobs
            ]
            for future in futures:
                print(future.result(), flush=True)
    elif args.phase == "retrain":
        sources = [
            args.out / "runs" / f"{_run_name(seed, criterion, target, distill, args.granularity)}.json"
            for seed, criterion, target, distill in product(seeds, criteria, targets, args.distill)
        ]
        with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool:
            for done in pool.map(retrain_one, [args.flow] * len(sources), sources):
                print(done, flush=True)
    elif args.phase == "validate":
        validate_all(flow, args.out)
    elif args.phase == "estimate":
        estimate_all(flow, args.out)
    elif args.phase == "table" and args.pivot:
        print_pivot(_runs(args.out, args.seeds, args.criteria), args.criteria, args.metric)
    elif args.phase == "table":
        print_table(_runs(args.out, args.seeds, args.criteria))
    else:
        print_comparison(args.out)
    return 0


def _data(flow: FlowConfig):
    return load_splits(flow.data, search_path())


def train_base(flow: FlowConfig, seed: int, out: Path, threads: int | None = None) -> None:
    """The unpruned network for ``seed``, trained as the flow says (skipped when already there)."""
    target = out / f"base-s{seed}.pt"
    if target.exists():
        return
    data = _data(flow)
    torch.manual_seed(seed)
    model = build_model(flow.model, flow.quant, data.input_shape, data.num_classes)
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        fit(model, data, flow.train.model_copy(update={"seed": seed, "threads": threads}), Path(tmp) / "c.pt", "base")
    out.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), target)
    test = accuracy(model, data.test_x, data.test_y)
    write_json(out / f"base-s{seed}.json", {"seed": seed, "test": test, "seconds": time.perf_counter() - began})
    print(f"seed {seed}: {test:.2%}", flush=True)


def _base(flow: FlowConfig, data, seed: int, out: Path):
    torch.manual_seed(seed)
    model = build_model(flow.model, flow.quant, data.input_shape, data.num_classes)
    model.load_state_dict(torch.load(out / f"base-s{seed}.pt", weights_only=True))
    return model.eval()


def prune_one(
    flow_path: Path,
    out: Path,
    epochs: int,
    granularity: int | None,
    seed: int,
    criterion: str,
    target: tuple[str, float],
    distill: str,
) -> Path:
    """One pruned network: its kept channels, accuracy and weights under ``out/runs``."""
    torch.set_num_threads(1)
    flow = load_flow(flow_path)
    kind, amount = target
    name = _run_name(seed, criterion, target, distill, granularity)
    result_path = out / "runs" / f"{name}.json"
    if result_path.exists():
        return result_path
    data = _data(flow)
    teacher = _base(flow, data, seed, out)
    settings = flow.prune.model_dump()
    criterion_settings, prune_settings = _criterion(criterion)
    peer = None
    if criterion_settings["name"] == "torch-pruning":  # its scores, hwcompress's ranking (the config's is unused)
        from torch_pruning_peer import TorchPruningImportance

        peer = TorchPruningImportance(criterion_settings["importance"], data.input_shape)
        criterion_settings = {"name": "l1"}
    settings.update(
        criterion=criterion_settings,
        rate=amount if kind == "rate" else 0.0,
        keep_macs=amount if kind == "macs" else None,
        finetune_epochs=epochs,
        granularity=granularity or settings["granularity"],
    )
    settings.update(prune_settings)  # a criterion's own finetune_epochs (an iterative schedule's per step) wins
    settings["distill"]["enabled"] = distill == "on"
    cfg = PruneConfig.model_validate(settings)
    lr = cfg.finetune_lr or flow.train.lr / 10
    train = flow.train.model_copy(update={"epochs": cfg.finetune_epochs, "lr": lr, "threads": 1})
    kd = Distillation(teacher, cfg.distill.alpha, cfg.distill.temperature) if distill == "on" else None
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:

        def fine_tune(model, step):
            fit(model, data, train.model_copy(update={"seed": step}), Path(tmp) / f"ft-{step}.pt", name, None, kd)

        cycles = cycles_per_image(get_board(flow.board), flow.target)
        result = prune_model(_base(flow, data, seed, out), data, cfg, cycles, fine_tune, importance=peer)
    result_path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(result.model.state_dict(), result_path.with_suffix(".pt"))
    write_json(
        result_path,
        {
            "seed": seed,
            "criterion": criterion,
            "rate": amount if kind == "rate" else None,
            "keep_macs": amount if kind == "macs" else None,
            "macs": network_macs(result.model, data.input_shape),
            "unpruned_macs": network_macs(teacher, data.input_shape),
            "distill": distill,
            "granularity": str(cfg.granularity),
            "finetune_epochs": cfg.finetune_epochs * (cfg.steps if cfg.schedule == "iterative" else 1),
            "achieved_rate": result.achieved_rate,
            "after": result.after,
            "keep": {k: v.tolist() for k, v in result.keep.items()},
            "unpruned_val": accuracy(teacher, data.val_x, data.val_y),
            "val": accuracy(result.model, data.val_x, data.val_y),
            "unpruned_test": accuracy(teacher, data.test_x, data.test_y),
            "test": accuracy(result.model, data.test_x, data.test_y),
            "seconds": time.perf_counter() - began,
        },
    )
    return result_path


def _run_name(seed: int, criterion: str, target: tuple[str, float], distill: str, granularity: int | None) -> str:
    kind, amount = target
    label = f"{round(amount * 100)}" if kind == "rate" else f"m{amount * 100:g}"
    safe = re.sub(r"[^\w=.,-]+", "-", criterion)  # pcas:augment={shift: 2} -> pcas-augment=-shift-2-
    return f"s{seed}-{safe}-{label}-kd{distill}" + (f"-g{granularity}" if granularity else "")


def retrain_one(flow_path: Path, source: Path) -> Path:
    """The control: ``source``'s kept widths, freshly initialized and trained as the flow's train section says."""
    torch.set_num_threads(1)
    result_path = source.with_name(f"{source.stem}-scratch.json")
    if result_path.exists():
        return result_path
    flow = load_flow(flow_path)
    run = json.loads(source.read_text())
    data = _data(flow)
    torch.manual_seed(run["seed"])
    model = build_model(flow.model, flow.quant, data.input_shape, data.num_classes)
    # The first channels of a freshly built network: its initialization (uniform over the quantizer's range) does
    # not depend on a layer's width, so they are initialized as a network built at these widths would be.
    model = prune_channels(model, coupling_groups(model), {name: torch.arange(n) for name, n in run["after"].items()})
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        train = flow.train.model_copy(update={"seed": run["seed"], "threads": 1})
        fit(model, data, train, Path(tmp) / "c.pt", result_path.stem)
    torch.save(model.state_dict(), result_path.with_suffix(".pt"))
    write_json(
        result_path,
        {
            **{key: run[key] for key in ("seed", "rate", "keep_macs", "distill", "granularity", "after")},
            "criterion": f"{run['criterion']} widths, from scratch",
            "train_epochs": flow.train.epochs,
            "macs": network_macs(model, data.input_shape),
            "unpruned_macs": run["unpruned_macs"],
            "keep": {name: list(range(n)) for name, n in run["after"].items()},
            "unpruned_val": run.get("unpruned_val"),
            "val": accuracy(model, data.val_x, data.val_y),
            "unpruned_test": run["unpruned_test"],
            "test": accuracy(model, data.test_x, data.test_y),
            "seconds": time.perf_counter() - began,
        },
    )
    return result_path


def _pruned_model(flow: FlowConfig, data, path: Path, run: dict):
    """A run's network rebuilt: the flow's model cut to the run's kept channels, with its saved weights."""
    model = build_model(flow.model, flow.quant, data.input_shape, data.num_classes)
    keep = {name: torch.tensor(index) for name, index in run["keep"].items()}
    model = prune_channels(model, coupling_groups(model), keep)
    model.load_state_dict(torch.load(path.with_suffix(".pt"), weights_only=True))
    return model.eval()


def validate_all(flow: FlowConfig, out: Path) -> None:
    """Add the validation accuracy (the pruned network's and the unpruned one's) to the runs recorded without it;
    the data is loaded once and each seed's unpruned network scored once."""
    pending = [(path, run) for path, run in _run_files(out) if "val" not in run]
    if not pending:
        return
    data = _data(flow)
    unpruned: dict[int, float] = {}
    for path, run in pending:
        run["val"] = accuracy(_pruned_model(flow, data, path, run), data.val_x, data.val_y)
        if run["seed"] not in unpruned:
            unpruned[run["seed"]] = accuracy(_base(flow, data, run["seed"], out), data.val_x, data.val_y)
        run["unpruned_val"] = unpruned[run["seed"]]
        write_json(path, run)
        print(f"{path.stem}: val {run['val']:.2%}", flush=True)


def _criterion(spec: str) -> tuple[dict, dict]:
    """``pcas:gate=sigmoid,cost_aware=true`` -> the criterion's settings and the prune section's."""
    name, _, options = spec.partition(":")
    criterion, prune = {"name": name}, {}
    for option in filter(None, _top_level_split(options)):
        key, _, value = option.partition("=")
        parsed = yaml.safe_load(value)
        (prune if key in PruneConfig.model_fields else criterion)[key] = parsed
    return criterion, prune


def _top_level_split(options: str) -> list[str]:
    """``a=1,b={x: 1, y: 2}`` -> ``["a=1", "b={x: 1, y: 2}"]``: commas inside braces stay with their value."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(options):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(options[start:i])
            start = i + 1
    return [*parts, options[start:]]


def estimate_all(flow: FlowConfig, out: Path) -> None:
    """Add FINN's LUT / BRAM / fps estimates at the flow's target to the runs recorded without them; the data is
    loaded once."""
    from hwcompress.compile.accelerator import compile_qonnx
    from hwcompress.export.qonnx_export import export_qonnx_model
    from hwcompress.fileio import save_onnx
    from hwcompress.tools import Toolchain

    pending = [(path, run) for path, run in _run_files(out) if "estimate" not in run]
    if not pending:
        return
    data = _data(flow)
    target = flow.target.model_copy(update={"enforce_fit": False})
    board, tools = get_board(flow.board), Toolchain()
    for path, run in pending:
        with tempfile.TemporaryDirectory() as tmp:
            save_onnx(export_qonnx_model(_pruned_model(flow, data, path, run), data.input_shape), Path(tmp) / "m.onnx")
            compiled = compile_qonnx(Path(tmp) / "m.onnx", Path(tmp) / "c", board, target, flow.compile, tools)
        e = compiled.estimate
        run["estimate"] = {"lut": e.lut, "bram18": e.bram18, "dsp": e.dsp, "fps": e.fps}
        write_json(path, run)
        print(f"{path.stem}: {e.lut:,.0f} LUT, {e.fps:,.0f} fps", flush=True)


def _run_files(out: Path) -> list[tuple[Path, dict]]:
    """Every run file under ``out`` with its contents, in name order."""
    return [(path, json.loads(path.read_text())) for path in sorted((out / "runs").glob("*.json"))]


def _runs(out: Path, seeds: list[int] | None = None, criteria: list[str] | None = None) -> list[dict]:
    """The runs under ``out``, only those of ``seeds`` and ``criteria`` where given."""
    runs = [run for _, run in _run_files(out)]
    runs = [run for run in runs if seeds is None or run["seed"] in seeds]
    return [run for run in runs if criteria is None or run["criterion"] in criteria]


def _target(run: dict) -> str:
    return f"{run['rate']:.0%}" if run.get("rate") is not None else f"MACs {run['keep_macs']:.1%}".replace(".0%", "%")


def print_table(runs: list[dict]) -> None:
    groups: dict[tuple, list[dict]] = {}
    for run in runs:
        key = (run["distill"], run.get("granularity", "auto"), _target(run), run["criterion"])
        groups.setdefault(key, []).append(run)
    print("| target | criterion | distill | granularity | seeds | val | test | MACs left | kept channels | LUT | fps |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for (distill, granularity, target, criterion), rows in sorted(groups.items()):
        val = _mean_and_spread([r["val"] * 100 for r in rows if "val" in r])
        test = _mean_and_spread([r["test"] * 100 for r in rows])
        kept = "/".join(str(n) for n in rows[0]["after"].values())
        shares = [r["macs"] / r["unpruned_macs"] for r in rows if "macs" in r]
        macs = f"{statistics.mean(shares):.1%}" if shares else "—"
        est = [r["estimate"] for r in rows if "estimate" in r]
        lut = f"{statistics.mean(e['lut'] for e in est):,.0f}" if est else "—"
        fps = f"{statistics.mean(e['fps'] for e in est):,.0f}" if est else "—"
        print(
            f"| {target} | {criterion} | {distill} | {granularity} | {len(rows)} | {val} | {test} | {macs} | {kept} | "
            f"{lut} | {fps} |"
        )


def print_pivot(runs: list[dict], criteria: list[str] | None, metric: str) -> None:
    """A row per criterion (``criteria``'s order, default all), a column per target: the mean accuracy over seeds
    ± its standard deviation, with the share of the MACs actually left; the best mean of each column in bold."""
    runs = [run for run in runs if metric in run]
    settings = {(run["distill"], run.get("granularity", "auto")) for run in runs}
    rows = criteria or sorted({run["criterion"] for run in runs})
    targets = sorted({_target(run) for run in runs}, key=lambda t: -float(t.split()[-1].rstrip("%")))
    seeds = len({run["seed"] for run in runs})
    cells: dict[tuple[str, str], tuple[float, str]] = {}
    for criterion, target in product(rows, targets):
        found = [r for r in runs if _target(r) == target and r["criterion"] == criterion]
        if found:
            accs = [r[metric] * 100 for r in found]
            macs = statistics.mean(r["macs"] / r["unpruned_macs"] for r in found)
            note = "" if len(found) == seeds else f", {len(found)} seed{'s' * (len(found) > 1)}"
            cells[criterion, target] = (statistics.mean(accs), f"{_mean_and_spread(accs)} ({macs:.1%}{note})")
    best = {t: max((cells[c, t][0] for c in rows if (c, t) in cells), default=None) for t in targets}
    print(f"| criterion ({metric} accuracy, MACs left) | " + " | ".join(targets) + " |")
    print("|---" * (len(targets) + 1) + "|")
    for criterion in rows:
        mean_text = [cells.get((criterion, t), (None, "—")) for t in targets]
        shown = [f"**{text}**" if mean == best[t] else text for (mean, text), t in zip(mean_text, targets, strict=True)]
        print(f"| {criterion} | " + " | ".join(shown) + " |")
    if len(settings) > 1:
        print(f"\n(mixed settings: {sorted(settings)}; the pivot does not tell them apart)")


def _mean_and_spread(values: list[float]) -> str:
    """``91.50%`` for one value, ``91.50% ± 0.21`` (standard deviation) for several, ``—`` for none."""
    if not values:
        return "—"
    spread = f" ± {statistics.stdev(values):.2f}" if len(values) > 1 else ""
    return f"{statistics.mean(values):.2f}%{spread}"


def print_comparison(out: Path) -> None:
    """For each reference flow: the pruned run with the fewest LUT whose *validation* accuracy reaches the published
    one; its test accuracy is read once, for the table (choosing on test accuracy would flatter the design)."""
    runs = [run for run in _runs(out) if "estimate" in run]
    if missing := [run for run in runs if "val" not in run]:
        raise SystemExit(f"{len(missing)} runs have no validation accuracy: run 'prune_sweep.py validate' first")
    print(
        "| reference | published | reference LUT | smallest pruned design whose val reaches it | val | test | LUT "
        "| LUT / ref |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, (published, lut) in REFERENCES.items():
        reaching = [run for run in runs if run["val"] * 100 >= published]
        if not reaching:
            best = max(runs, key=lambda run: run["val"])
            print(f"| {name} | {published:.2f}% | {lut:,} | none (best val: {_describe(best)}, {best['val']:.2%}) "
                  "| | | | |")  # fmt: skip
            continue
        run = min(reaching, key=lambda run: run["estimate"]["lut"])
        print(
            f"| {name} | {published:.2f}% | {lut:,} | {_describe(run)} | {run['val']:.2%} | {run['test']:.2%} | "
            f"{run['estimate']['lut']:,.0f} | {run['estimate']['lut'] / lut:.0%} |"
        )


def _describe(run: dict) -> str:
    kept = "/".join(str(n) for n in run["after"].values())
    return f"{run['criterion']} {run['rate']:.0%} seed {run['seed']} ({kept})"


if __name__ == "__main__":
    sys.exit(main())
