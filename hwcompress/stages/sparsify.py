"""The sparsify stage (optional): unstructured pruning and Deep Compression of a copy of the network.

Its numbers are the stored model's size; export, compile and verify keep using the prune stage's dense
network, because a FINN accelerator computes every weight of its matrices.
"""

from __future__ import annotations

from torch import nn

from hwcompress.config import SparsifyConfig
from hwcompress.fileio import write_json, write_torch
from hwcompress.sparse.engine import sparsify
from hwcompress.stages.artifacts import SPARSE_WEIGHTS, SPARSIFIED
from hwcompress.stages.config_reads import whole
from hwcompress.stages.context import StageContext, StageOutput
from hwcompress.stages.networks import final_network, flow_data, train_config
from hwcompress.train.loop import accuracy, fit


def sparsify_stage(ctx: StageContext) -> StageOutput:
    cfg: SparsifyConfig = whole(ctx.flow.sparsify)
    base = train_config(ctx)
    model = final_network(ctx)
    data = flow_data(ctx)
    tunes = iter(range(1_000_000))

    def fine_tune(net: nn.Module, epochs: int) -> None:
        call = next(tunes)
        train = base.model_copy(update={"epochs": epochs, "lr": cfg.finetune_lr or base.lr / 10, "seed": call})
        fit(net, data, train, ctx.stage_dir / f"finetune-{call}.pt", ctx.fingerprint(call), ctx.reporter)

    result = sparsify(model, (data.val_x, data.val_y), (data.test_x, data.test_y), cfg, fine_tune, accuracy)
    ctx.log(
        f"sparsify: {result.sparsity:.1%} zeros, {result.storage.ratio_vs_float:.1f}x smaller than float32 "
        f"(stored-model size), test {result.accuracy:.2%}"
    )
    write_torch(ctx.output(SPARSE_WEIGHTS), model.state_dict())
    write_json(ctx.output(SPARSIFIED), result.to_json())
    return StageOutput(
        artifacts=(SPARSE_WEIGHTS, SPARSIFIED),
        summary={
            "sparsify.sparsity": result.sparsity,
            "sparsify.ratio_vs_float32": result.storage.ratio_vs_float,
            "accuracy.sparse": result.accuracy,
        },
    )
