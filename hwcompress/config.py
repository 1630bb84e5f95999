"""Flow configuration: one YAML file loaded into frozen, validated pydantic models.

Example:
    >>> flow = load_flow("flows/quickstart.yaml")
    >>> flow.train.epochs, flow.quant.weight_bits
    (30, 2)

How to add a field: add it with a default and a ``description`` to the section's model; older flows stay
valid. How to add a section: a new ``StrictModel`` subclass and a field on ``FlowConfig``; a stage that reads
it reruns when it changes (``stages/config_reads.py`` records what each stage reads).
"""

from __future__ import annotations

import difflib
import typing
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from hwcompress.errors import ConfigError

Bits = Annotated[int, Field(ge=1, le=8)]


class StrictModel(BaseModel):
    """Frozen, unknown keys rejected, enums kept as enums."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class DatasetName(StrEnum):
    DIGITS = "digits"
    MNIST = "mnist"
    FASHION_MNIST = "fashion-mnist"
    CIFAR10 = "cifar10"


class DataConfig(StrictModel):
    name: DatasetName = Field(DatasetName.DIGITS, description="Which dataset.")
    path: Path | None = Field(None, description="Directory with the dataset's files; searched first.")
    val_fraction: float = Field(0.1, ge=0.0, lt=1.0, description="Share of training data held out.")
    split_seed: int = Field(0, description="Seed of the fixed validation split.")
    download: bool = Field(True, description="Download when not found locally and the network allows.")
    train_limit: int | None = Field(None, ge=1, description="Use at most this many training images.")
    test_limit: int | None = Field(None, ge=1, description="Use at most this many test images.")
    crop_to: int | None = Field(
        None, ge=1, description="Crop images, centred, to this height and width (e.g. 20 drops MNIST's empty border)."
    )
    pad_to: int | None = Field(
        None, ge=1, description="Pad images with zeros, centred, to this height and width (e.g. 32 for CNV on 28x28)."
    )

    def image_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """The (C, H, W) the network sees for dataset images of ``shape``, after ``crop_to`` and ``pad_to``."""
        channels, height, width = shape
        if self.crop_to:
            height, width = min(height, self.crop_to), min(width, self.crop_to)
        if self.pad_to:
            height, width = max(height, self.pad_to), max(width, self.pad_to)
        return channels, height, width


class Arch(StrEnum):
    MLP = "mlp"
    TFC = "tfc"
    SFC = "sfc"
    LFC = "lfc"
    LENET_300_100 = "lenet-300-100"
    LENET5 = "lenet5"
    CNV = "cnv"
    MOBILENET = "mobilenet"
    RESNET8 = "resnet8"
    TABLES = "tables"


#: Preset MLPs: FINN's reference MLPs (brevitas bnn_pynq) and LeNet-300-100 (LeCun et al. 1998).
PRESET_HIDDEN: dict[Arch, tuple[int, ...]] = {
    Arch.TFC: (64, 64, 64),
    Arch.SFC: (256, 256, 256),
    Arch.LFC: (1024, 1024, 1024),
    Arch.LENET_300_100: (300, 100),
}


class ConvSpec(typing.NamedTuple):
    """One valid (unpadded) convolution: output channels, kernel size, whether a 2x2 max-pool follows, whether
    it is depthwise (one filter per channel: output channels = input channels)."""

    channels: int
    kernel: int
    pool: bool
    depthwise: bool = False


def _separable(channels: int, out: int, pool: bool) -> tuple[ConvSpec, ConvSpec]:
    """A MobileNet block: depthwise 3x3 on ``channels``, then pointwise 1x1 to ``out`` (pooled if ``pool``)."""
    return ConvSpec(channels, 3, False, depthwise=True), ConvSpec(out, 1, pool)


#: The zoo's convolutional presets: their convolutions and fully connected widths.
#: LeNet-5 as in Caffe and the Deep Compression paper: conv 20 and 50 (5x5, each followed by 2x2 max-pool),
#: then fully connected 500. CNV, FINN's CIFAR-10 network (brevitas bnn_pynq): 3x3 convolutions 64, 64, 128,
#: 128, 256, 256 with a max-pool after the second and the fourth, then fully connected 512 and 512.
#: MobileNet: a MobileNet-v1-style network for 28x28 and 32x32 images: a 3x3 stem of 32, then depthwise-separable
#: blocks to 64 (pooled), 128 (pooled) and 256, then the classifier (valid convolutions, max-pools for strides).
CONV_PRESETS: dict[Arch, tuple[tuple[ConvSpec, ...], tuple[int, ...]]] = {
    Arch.LENET5: ((ConvSpec(20, 5, True), ConvSpec(50, 5, True)), (500,)),
    Arch.CNV: (
        (
            ConvSpec(64, 3, False),
            ConvSpec(64, 3, True),
            ConvSpec(128, 3, False),
            ConvSpec(128, 3, True),
            ConvSpec(256, 3, False),
            ConvSpec(256, 3, False),
        ),
        (512, 512),
    ),
    Arch.MOBILENET: (
        (ConvSpec(32, 3, False), *_separable(32, 64, True), *_separable(64, 128, True), *_separable(128, 256, False)),
        (),
    ),
}

#: Residual presets: the width of each stage (one residual block per stage). ResNet-8 of MLPerf Tiny: 16, 32, 64.
RESIDUAL_PRESETS: dict[Arch, tuple[int, ...]] = {Arch.RESNET8: (16, 32, 64)}


class Wiring(StrEnum):
    LEARNED = "learned"
    RANDOM = "random"


class TablesConfig(StrictModel):
    """A table network (``arch: tables``): thermometer bits of the pixels, layers of table nodes, a popcount per
    class over the last layer's nodes (one equal group per class)."""

    nodes: tuple[Annotated[int, Field(ge=1)], ...] = Field((1000,), min_length=1, description="Nodes per layer.")
    fan_in: int = Field(6, ge=1, le=6, description="Input bits per node (6: one LUT6 per node).")
    thermometer: int = Field(3, ge=1, le=8, description="Thermometer bits per pixel.")
    wiring: Wiring = Field(Wiring.LEARNED, description="learned (each node input picks its bit) or random (fixed).")
    candidates: int | None = Field(
        None, ge=2, description="Learned wiring: random bits each node input chooses from; default: every input bit."
    )
    tau: float = Field(1 / 0.3, gt=0, description="Popcounts are divided by this into the logits.")


class ModelConfig(StrictModel):
    arch: Arch = Field(Arch.MLP, description="Topology from the zoo.")
    hidden: tuple[Annotated[int, Field(ge=1)], ...] | None = Field(
        None, description="Hidden widths of an 'mlp'; fixed by the presets tfc/sfc/lfc."
    )
    dropout: float = Field(0.2, ge=0.0, lt=1.0, description="Dropout after the input and each hidden layer.")
    width: float = Field(
        1.0, gt=0.0, le=8.0, description="Width multiplier of every layer but the classifier (rounded, at least 1)."
    )
    tables: TablesConfig = Field(TablesConfig(), description="A table network's layers (arch: tables).")

    @model_validator(mode="after")
    def _tables_only_for_tables(self) -> ModelConfig:
        if self.arch is not Arch.TABLES and self.tables != TablesConfig():
            raise ValueError(f"'tables' describes arch 'tables' only; arch '{self.arch}' does not read it")
        return self

    @model_validator(mode="after")
    def _hidden_matches_arch(self) -> ModelConfig:
        if self.arch is Arch.MLP and not self.hidden:
            raise ValueError("arch 'mlp' needs 'hidden', a list of layer widths such as [64, 64]")
        if self.arch is not Arch.MLP and self.hidden is not None:
            fixed = f"hidden={list(PRESET_HIDDEN[self.arch])}" if self.arch in PRESET_HIDDEN else "its layers"
            raise ValueError(f"arch '{self.arch}' fixes {fixed}; use arch 'mlp' for other widths")
        return self

    def _scaled(self, width: int) -> int:
        return max(1, round(width * self.width))

    @property
    def hidden_widths(self) -> tuple[int, ...]:
        """The hidden fully connected widths, from the preset or from ``hidden``, times ``width``."""
        if self.arch in CONV_PRESETS:
            widths = CONV_PRESETS[self.arch][1]
        else:
            widths = PRESET_HIDDEN.get(self.arch) or tuple(self.hidden or ())
        return tuple(map(self._scaled, widths))

    @property
    def convs(self) -> tuple[ConvSpec, ...]:
        """The convolutions, channels times ``width`` (none for an MLP)."""
        convs = CONV_PRESETS[self.arch][0] if self.arch in CONV_PRESETS else ()
        return tuple(spec._replace(channels=self._scaled(spec.channels)) for spec in convs)

    @property
    def stage_widths(self) -> tuple[int, ...]:
        """A residual network's stage widths times ``width`` (none for other networks)."""
        return tuple(map(self._scaled, RESIDUAL_PRESETS.get(self.arch, ())))

    @property
    def conv_channels(self) -> tuple[int, ...]:
        """Output channels of the convolutions in layer order (none for an MLP).

        A residual network: the stem, then per stage its two 3x3 convolutions and (but the first) the shortcut.
        """
        if self.arch in RESIDUAL_PRESETS:
            first, *rest = self.stage_widths
            return (first, first, first, *(width for width in rest for _ in range(3)))
        return tuple(spec.channels for spec in self.convs)

    @property
    def layer_names(self) -> list[str]:
        """Compute layers in order: ``conv<i>``, then ``fc<i>``, then ``out`` (none in a table network, whose
        nodes are not quantized layers)."""
        if self.arch is Arch.TABLES:
            return []
        convs = [f"conv{i}" for i in range(len(self.conv_channels))]
        return convs + [f"fc{i}" for i in range(len(self.hidden_widths))] + ["out"]


class LayerBits(StrictModel):
    weight_bits: Bits | None = Field(None, description="Overrides quant.weight_bits for this layer.")
    act_bits: Bits | None = Field(None, description="Overrides quant.act_bits after this layer.")


class QuantConfig(StrictModel):
    weight_bits: Bits = Field(2, description="Weight bit width of every layer unless overridden.")
    act_bits: Bits = Field(2, description="Activation bit width after every hidden layer unless overridden.")
    layers: dict[str, LayerBits] = Field(
        default_factory=dict, description="Per-layer overrides by layer name (see `hwcompress train`)."
    )

    def weight_bits_of(self, layer: str) -> int:
        override = self.layers.get(layer)
        return override.weight_bits if override and override.weight_bits else self.weight_bits

    def act_bits_of(self, layer: str) -> int:
        override = self.layers.get(layer)
        return override.act_bits if override and override.act_bits else self.act_bits


class Optimizer(StrEnum):
    ADAM = "adam"
    ADAMW = "adamw"
    SGD = "sgd"


class Schedule(StrEnum):
    CONSTANT = "constant"
    COSINE = "cosine"
    STEP = "step"


class AugmentConfig(StrictModel):
    """Random changes to each training batch (never to validation or test images)."""

    flip: bool = Field(False, description="Flip half the images left to right (not for digits).")
    shift: int = Field(0, ge=0, le=8, description="Shift each image by up to this many pixels in x and y.")


class TrainConfig(StrictModel):
    epochs: int = Field(10, ge=1)
    batch_size: int = Field(128, ge=1)
    optimizer: Optimizer = Optimizer.ADAM
    lr: float = Field(0.01, gt=0.0, description="Initial learning rate.")
    weight_decay: float = Field(0.0, ge=0.0)
    momentum: float = Field(0.9, ge=0.0, lt=1.0, description="SGD only.")
    schedule: Schedule = Schedule.COSINE
    step_epochs: int = Field(10, ge=1, description="'step' schedule: epochs between decays.")
    gamma: float = Field(0.1, gt=0.0, le=1.0, description="'step' schedule: decay factor.")
    seed: int = 0
    augment: AugmentConfig = Field(default_factory=AugmentConfig, description="Training-time augmentation.")
    threads: int | None = Field(None, ge=1, description="CPU threads; default: all cores.")
    device: str = Field(
        "auto",
        pattern=r"^(auto|cpu|cuda(:\d+)?)$",
        description="auto: CUDA when available, else CPU; or cpu, cuda, cuda:N. The network comes back on the CPU.",
    )


class Normalization(StrEnum):
    """How a layer's channel scores are scaled before one ranking compares them with other layers'."""

    NONE = "none"
    MEAN = "mean"
    MAX = "max"
    SUM = "sum"
    L2 = "l2"
    PERCENTILE = "percentile"


class NoCriterion(StrictModel):
    """No pruning: the prune stage passes the trained network on unchanged."""

    name: Literal["none"] = "none"


class RandomCriterion(StrictModel):
    """Random scores: the control every criterion must beat."""

    name: Literal["random"] = "random"
    seed: int = Field(0, description="Seed of the random scores.")


class GroupReduction(StrEnum):
    """Which weights of a coupling group a channel's norm is taken over, and how the parts combine."""

    NONE = "none"
    MEAN = "mean"
    SUM = "sum"
    MAX = "max"


class L1Criterion(StrictModel):
    """Norm of each output filter's weights (Li et al., ICLR 2017)."""

    name: Literal["l1"] = "l1"
    p: Literal[1, 2] = Field(1, description="1: mean |w| of the filter; 2: root mean square.")
    normalization: Normalization = Field(Normalization.MEAN, description="Per-layer scaling of the scores.")
    group_reduction: GroupReduction = Field(
        GroupReduction.NONE,
        description="none: the filters that write the channel; mean/sum/max: also its depthwise filters and "
        "every consumer's input weights, combined so (Torch-Pruning's group importance).",
    )


class BNCriterion(StrictModel):
    """|gamma| of the batch norm on each channel (network slimming, Liu et al. 2017)."""

    name: Literal["bn"] = "bn"
    normalization: Normalization = Field(Normalization.MEAN, description="Per-layer scaling of the scores.")
    group_reduction: GroupReduction = Field(
        GroupReduction.NONE,
        description="How the |gamma| of every batch norm on the channel combine: none or mean (averaged), sum, max.",
    )


class TaylorCriterion(StrictModel):
    """First-order Taylor expansion of the loss on each channel's activation (Molchanov et al., ICLR 2017)."""

    name: Literal["taylor"] = "taylor"
    batches: int = Field(20, ge=1, description="Training batches the gradients are measured on.")
    batch_size: int = Field(128, ge=1)
    normalization: Normalization = Field(Normalization.L2, description="Per-layer scaling of the scores.")
    group_reduction: GroupReduction = Field(
        GroupReduction.NONE,
        description="none: the Taylor term of the channel's activation; mean/sum/max: |w x dL/dw| summed over "
        "each part of the coupled group (writers, batch norms, depthwise filters, consumers' inputs), combined so "
        "(Torch-Pruning's group Taylor importance).",
    )


class PCASCriterion(StrictModel):
    """PCAS: attention modules gate each layer's channels; a channel's mean gate is its importance."""

    name: Literal["pcas"] = "pcas"
    epochs: int = Field(2, ge=1, description="Epochs the attention modules train (the network is frozen).")
    batch_size: int = Field(128, ge=1)
    lr: float = Field(0.01, gt=0.0, description="Learning rate of the attention modules.")
    optimizer: Literal["adam", "sgd"] = Field(
        "adam",
        description="The modules' optimizer. Adam's steps keep their size however small the task's gradient is (on a "
        "nearly converged network the gates then wander); SGD (momentum 0.9) steps in proportion to it.",
    )
    reduction: int = Field(4, ge=1, description="Hidden width of a module: channels / reduction (at least 4).")
    spread: float = Field(0.03, ge=0.0, description="Weight of the penalty on the gates' distance from 1.")
    gate: Literal["softmax", "sigmoid"] = Field(
        "softmax",
        description="softmax: a layer's gates share a budget (PCAS); sigmoid: each gate on its own (a naive "
        "squeeze-and-excitation gate, the baseline).",
    )
    normalization: Normalization = Field(Normalization.NONE, description="Per-layer scaling of the scores.")
    augment: AugmentConfig = Field(
        default_factory=AugmentConfig, description="Augmentation of the images the attention modules train on."
    )
    seed: int = 0


def _criterion_by_name(value: Any) -> Any:
    """``criterion: l1`` is short for ``criterion: {name: l1}``."""
    return {"name": value} if isinstance(value, str) else value


CriterionConfig = Annotated[
    Annotated[
        NoCriterion | RandomCriterion | L1Criterion | BNCriterion | TaylorCriterion | PCASCriterion,
        Field(discriminator="name"),
    ],
    BeforeValidator(_criterion_by_name),
]


class Allocation(StrEnum):
    GLOBAL = "global"
    UNIFORM = "uniform"


class PruneSchedule(StrEnum):
    ONESHOT = "oneshot"
    ITERATIVE = "iterative"


class DistillConfig(StrictModel):
    enabled: bool = Field(True, description="Fine-tune with the unpruned network as teacher.")
    alpha: float = Field(0.5, ge=0.0, le=1.0, description="Weight of the label loss; the rest is the teacher's.")
    temperature: float = Field(4.0, gt=0.0)


class PruneConfig(StrictModel):
    criterion: CriterionConfig = Field(
        NoCriterion(), description="Channel importance: a name (l1) or a mapping with its settings; none: no pruning."
    )
    rate: float = Field(0.0, ge=0.0, lt=1.0, description="Share of all prunable channels removed.")
    keep_macs: float | None = Field(
        None, gt=0.0, lt=1.0, description="Instead of rate: prune until this share of the MACs is left (0.5: 2x fewer)."
    )
    allocation: Allocation = Field(Allocation.GLOBAL, description="global: one ranking over all layers.")
    min_channels: int = Field(4, ge=1, description="No layer keeps fewer channels.")
    cost_aware: bool = Field(
        False, description="Rank channels by importance per MAC they cost (their layers' MACs / channels)."
    )
    granularity: Annotated[int, Field(ge=1)] | Literal["auto"] = Field(
        "auto",
        description="Kept channel counts are rounded to multiples of this; 'auto': the power of two FINN's "
        "folding needs for target.fps on the board's clock, per layer.",
    )
    schedule: PruneSchedule = PruneSchedule.ONESHOT
    steps: int = Field(3, ge=1, description="Iterative schedule: prune-and-fine-tune rounds.")
    finetune_epochs: int = Field(3, ge=0, description="Fine-tuning epochs after each pruning step.")
    finetune_lr: float | None = Field(None, gt=0.0, description="Default: a tenth of train.lr.")
    distill: DistillConfig = DistillConfig()

    @property
    def enabled(self) -> bool:
        """Whether any channel is removed."""
        return self.criterion.name != "none" and (self.rate > 0 or self.keep_macs is not None)


class LowRankConfig(StrictModel):
    """Low-rank factorization: each listed layer's weight matrix split by SVD into two quantized layers.

    Runs in the prune stage, after channel pruning; FINN builds each factorized layer as two MVAUs.
    """

    layers: list[str] = Field(
        [], description="Hidden layers to factorize (fully connected, or convolutions as matrices); empty: none."
    )
    energy: float = Field(
        0.9, gt=0.0, le=1.0, description="Keep the fewest singular values holding this share of the squared sum."
    )
    ranks: dict[str, Annotated[int, Field(ge=1)]] = Field(
        {}, description="A fixed rank per layer, instead of the energy rule."
    )
    lut_budget: int | None = Field(
        None, gt=0, description="Instead of energy: the most energy whose design FINN estimates within this many LUT."
    )
    act_bits: int | None = Field(
        None, ge=1, le=8, description="Bits of the bottleneck activation; default: the layer's own activation bits."
    )
    weight_bits: int | None = Field(
        None, ge=1, le=8, description="Weight bits of both factors; default: the layer's own weight bits."
    )
    granularity: Annotated[int, Field(ge=1)] | Literal["auto"] = Field(
        "auto", description="Ranks from energy are rounded up to multiples of this; 'auto': as FINN's folding needs."
    )
    calibration_images: int = Field(
        2048, ge=16, description="Training images the factors and batch norms are fitted on."
    )
    finetune_epochs: int = Field(3, ge=0, description="Fine-tuning epochs after factorizing.")
    finetune_lr: float | None = Field(None, gt=0.0, description="Default: a tenth of train.lr.")
    distill: DistillConfig = DistillConfig()

    @property
    def enabled(self) -> bool:
        return bool(self.layers)

    @model_validator(mode="after")
    def _ranks_name_listed_layers(self) -> LowRankConfig:
        unlisted = sorted(set(self.ranks) - set(self.layers))
        if unlisted:
            raise ValueError(f"ranks names {unlisted}, which layers does not list")
        return self


class SparsifySchedule(StrEnum):
    DYNAMIC = "dynamic"
    FIXED = "fixed"


class WeightScoring(StrEnum):
    LAMP = "lamp"
    STD = "std"


class SharingConfig(StrictModel):
    """Deep Compression's weight sharing and coding (Han et al., ICLR 2016)."""

    bits: int = Field(4, ge=1, le=8, description="Each layer's weights share 2**bits values (k-means).")
    index_bits: int = Field(5, ge=1, le=16, description="Bits per relative index between non-zero weights.")
    finetune_epochs: int = Field(1, ge=0, description="Epochs fine-tuning the shared values (centroids).")


class SparsifyConfig(StrictModel):
    """Unstructured magnitude pruning and Deep Compression: the stored model's size, not the accelerator's.

    FINN's accelerator computes every weight of its dense matrices, so this section changes nothing that is
    compiled: it writes a sparse copy of the network and reports how small it stores.
    """

    enabled: bool = Field(False, description="Run the sparsify stage.")
    sparsity: float = Field(0.9, gt=0.0, lt=1.0, description="Target share of zero weights across all layers.")
    schedule: SparsifySchedule = Field(
        SparsifySchedule.DYNAMIC,
        description="dynamic: raise the threshold while validation accuracy holds (Lee & Park 2021); "
        "fixed: equal steps with a fine-tune after each.",
    )
    steps: int = Field(8, ge=1, description="fixed schedule: steps to the target.")
    tolerance: float = Field(0.002, ge=0.0, description="dynamic schedule: allowed validation accuracy drop.")
    max_finetunes: int = Field(20, ge=0, description="dynamic schedule: most fine-tunes before it stops.")
    scoring: WeightScoring = Field(WeightScoring.LAMP, description="How weights rank across layers.")
    min_density: float = Field(0.05, gt=0.0, lt=1.0, description="No layer keeps fewer of its weights.")
    finetune_epochs: int = Field(1, ge=1, description="Epochs of one fine-tune.")
    finetune_lr: float | None = Field(None, gt=0.0, description="Default: a tenth of train.lr.")
    sharing: SharingConfig = SharingConfig()

    @model_validator(mode="after")
    def _target_reachable(self) -> SparsifyConfig:
        if self.sparsity > 1.0 - self.min_density:
            raise ValueError(f"sparsity {self.sparsity:g} leaves less than min_density {self.min_density:g} per layer")
        return self


Share = Annotated[float, Field(gt=0.0, le=1.0)]


class Utilization(StrictModel):
    """The share of each board resource a design may use (the shell and routing need the rest)."""

    lut: Share = 0.85
    ff: Share = Field(1.0, description="Must stay 1.0: FINN estimates no flip-flops, so no ceiling can be checked.")
    bram18: Share = 1.0
    dsp: Share = 1.0
    uram: Share = 1.0

    @field_validator("ff")
    @classmethod
    def _ff_unchecked(cls, value: float) -> float:
        if value != 1.0:
            raise ValueError(
                "FINN estimates no flip-flops, so hwcompress cannot check a flip-flop ceiling; remove it "
                "(a FINN design on a Zynq runs out of LUTs long before flip-flops: the parts hold two per LUT)"
            )
        return value


class TargetConfig(StrictModel):
    fps: float = Field(100_000, gt=0, description="Target throughput FINN folds the design for.")
    clock_mhz: float | None = Field(None, gt=0, description="Clock; default: the board's.")
    max_utilization: Utilization = Field(Utilization(), description="Board-fit ceilings per resource.")
    enforce_fit: bool = Field(True, description="Fail when the design exceeds a ceiling; false: report and go on.")


class BitfileMode(StrEnum):
    AUTO = "auto"
    ALWAYS = "always"
    NEVER = "never"


class CompileConfig(StrictModel):
    bitfile: BitfileMode = Field(
        BitfileMode.AUTO, description="auto: synthesize where Vivado and Vitis HLS exist; always: fail without them."
    )
    folding_config: Path | None = Field(None, description="A FINN folding JSON; default: folded for target.fps.")
    finn_verify_samples: int = Field(5, ge=0, description="Golden samples for FINN's own verify steps (0: none).")
    mvau_wwidth_max: int = Field(
        36,
        ge=1,
        le=8191,
        description="FINN's widest weight stream per PE (bits): SIMD x weight bits. Raise it to fold multi-bit "
        "convolutions for high fps.",
    )


class VerifyConfig(StrictModel):
    export_samples: int | None = Field(None, ge=1, description="Test images in the export check; default: all.")
    samples: int | None = Field(None, ge=1, description="Test images run on the dataflow graph; default: all.")


class PackageConfig(StrictModel):
    samples: int | None = Field(
        None, ge=1, description="Test images (with labels and golden outputs) in the bundle; default: all verified."
    )
    archive: bool = Field(True, description="Also write the bundle as a .tar.gz.")


class DeployConfig(StrictModel):
    """Where the measure stage runs the bundle: a PYNQ board (or any machine with its Python) over SSH."""

    host: str | None = Field(
        None, description="user@host[:port] or host; set, `hwcompress run` measures; `--host` overrides it."
    )
    port: int = Field(22, ge=1, le=65535, description="SSH port (a port in host wins).")
    user: str = Field("xilinx", description="SSH user (a user in host wins).")
    key_file: Path | None = Field(None, description="Private key; default: the SSH agent and ~/.ssh/id_*.")
    known_hosts: Path | None = Field(None, description="Known hosts file; default: ~/.ssh/known_hosts.")
    remote_dir: str = Field("hwcompress", description="Where bundles go on the board (relative to the home).")
    python: str = Field("python3", description="The board's Python (pynq's: /usr/local/share/pynq-venv/bin/python3).")
    activate: str | None = Field(None, description="A file sourced first, e.g. /etc/profile.d/pynq_venv.sh.")
    sudo: bool = Field(False, description="Run the driver with sudo (PYNQ needs root for the FPGA).")
    batch_sizes: tuple[Annotated[int, Field(ge=1)], ...] = Field(
        (1, 10, 100, 1000), description="Batch sizes the throughput test runs."
    )
    repeats: int = Field(5, ge=1, description="Timed repeats per batch size.")
    timeout_s: float = Field(600.0, gt=0, description="Seconds one remote command may take.")

    @field_validator("host")
    @classmethod
    def _host_readable(cls, value: str | None) -> str | None:
        if value:
            split_host(value)
        return value

    @property
    def target(self) -> tuple[str, str, int] | None:
        """(user, host, port) from ``host``, ``user`` and ``port``; None without a host."""
        if not self.host:
            return None
        user, name, port = split_host(self.host)
        return user or self.user, name, port or self.port


def split_host(text: str) -> tuple[str | None, str, int | None]:
    """``user@host:port`` (user and port optional) as (user, host, port).

    Raises:
        ValueError: one phrase naming what is wrong, e.g. "no host name; write USER@HOST[:PORT], ...".
    """
    form = "write USER@HOST[:PORT], e.g. xilinx@192.168.2.99 or xilinx@pynq:2222"
    user, at, rest = text.rpartition("@")
    name, colon, port = rest.partition(":")
    if at and not user:
        raise ValueError(f"an empty user before '@'; {form}")
    if not name or any(c.isspace() for c in text):
        raise ValueError(f"no host name; {form}")
    if colon and not (port.isdigit() and 1 <= int(port) <= 65535):
        raise ValueError(f"the port '{port}' is not a number from 1 to 65535; {form}")
    return user or None, name, int(port) if colon else None


class Objective(StrEnum):
    """What an exploration optimizes: validation accuracy up; FINN's estimates of LUT, BRAM18, latency down, fps up."""

    ACCURACY = "accuracy"
    LUT = "lut"
    BRAM18 = "bram18"
    FPS = "fps"
    LATENCY = "latency"


class SamplerName(StrEnum):
    NSGA2 = "nsga2"
    TPE = "tpe"
    RANDOM = "random"


class TablesSpace(StrictModel):
    """What ``hwcompress explore`` searches for a table network (``arch: tables``): each candidate is trained from
    scratch for ``epochs`` epochs and counted by the cost model before it is trained."""

    nodes: list[tuple[Annotated[int, Field(ge=1)], ...]] = Field(
        [(250,), (500,), (1000,)], min_length=1, description="Layer lists to try, e.g. [[500], [2000, 1000]]."
    )
    fan_in: list[Annotated[int, Field(ge=1, le=6)]] = Field([6], min_length=1, description="Input bits per node.")
    thermometer: list[Annotated[int, Field(ge=1, le=8)]] = Field(
        [2, 3], min_length=1, description="Thermometer bits per pixel."
    )
    epochs: int = Field(2, ge=1, description="Epochs training each candidate from scratch (train.lr, schedule).")


class ExploreConfig(StrictModel):
    """The search of ``hwcompress explore``: per-layer bits, widths, input crop and target fps for the flow's board.

    The flow's own network, trained as the flow says, is the parent: each candidate inherits its weights (the
    channels with the largest L1 norm when narrower) and is fine-tuned briefly to rank it. FINN estimates every
    candidate first; one that cannot meet the constraints is never trained.
    """

    weight_bits: list[Bits] = Field([1, 2, 4], min_length=1, description="Weight bits each layer may take.")
    act_bits: list[Bits] = Field([1, 2, 4], min_length=1, description="Activation bits each hidden layer may take.")
    widths: list[Annotated[float, Field(gt=0.0, le=1.0)]] = Field(
        [1.0],
        min_length=1,
        description="Shares of each hidden layer's width (an MLP's layers each; other networks all at once).",
    )
    crop: list[Annotated[int, Field(ge=1)]] = Field(
        [], description="Input sizes to crop the images to (MLPs; data.crop_to); empty: the images as they are."
    )
    fps: list[Annotated[float, Field(gt=0)]] = Field([], description="Target fps to fold for; empty: target.fps.")
    objectives: list[Objective] = Field(
        [Objective.ACCURACY, Objective.LUT, Objective.BRAM18], min_length=1, description="What the front trades."
    )
    accuracy_floor: float = Field(0.0, ge=0.0, le=1.0, description="Validation accuracy a design must reach.")
    lut_budget: int | None = Field(None, gt=0, description="LUT a design may use (besides the board's ceiling).")
    bram18_budget: int | None = Field(None, ge=0, description="BRAM18 a design may use (besides the ceiling).")
    trials: int = Field(50, ge=1, description="Distinct designs evaluated when the search stops.")
    timeout_minutes: float | None = Field(None, gt=0, description="Also stop after this many minutes.")
    sampler: SamplerName = Field(SamplerName.NSGA2, description="nsga2 (multi-objective), tpe or random.")
    population: int = Field(16, ge=2, description="NSGA-II's population size.")
    seed: int = Field(0, description="Seed of the sampler.")
    finetune_epochs: int = Field(1, ge=0, description="QAT epochs fine-tuning each candidate from the parent.")
    finetune_lr: float | None = Field(None, gt=0.0, description="Default: a tenth of train.lr.")
    distill: DistillConfig = Field(DistillConfig(), description="Fine-tune with the parent as teacher.")
    allocator: int = Field(
        0, ge=0, description="Designs the integer-program allocator proposes (one per LUT budget) before the search."
    )
    finalize: int = Field(
        0, ge=0, description="Front designs (most accurate first) then trained fully and taken through the whole flow."
    )
    tables: TablesSpace = Field(TablesSpace(), description="The space of a table network (arch: tables).")


class OutputsConfig(StrictModel):
    dir: Path = Field(Path("runs"), description="Runs go to <dir>/<flow name>/.")


class FlowConfig(StrictModel):
    """A whole flow: what to train, how to quantize, for which board."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", description="Run directory name.")
    description: str = ""
    data: DataConfig = DataConfig()
    model: ModelConfig
    quant: QuantConfig = QuantConfig()
    train: TrainConfig = TrainConfig()
    prune: PruneConfig = PruneConfig()
    lowrank: LowRankConfig = LowRankConfig()
    sparsify: SparsifyConfig = SparsifyConfig()
    board: str = Field("pynq-z2", description="A board name from boards/ or a path to a board file.")
    target: TargetConfig = TargetConfig()
    compile: CompileConfig = CompileConfig()
    verify: VerifyConfig = VerifyConfig()
    package: PackageConfig = PackageConfig()
    deploy: DeployConfig = DeployConfig()
    outputs: OutputsConfig = OutputsConfig()
    explore: ExploreConfig | None = Field(None, description="What `hwcompress explore` searches.")

    @model_validator(mode="after")
    def _tables_compress_otherwise(self) -> FlowConfig:
        if self.model.arch is Arch.TABLES:
            used = [name for name in ("prune", "lowrank", "sparsify") if getattr(self, name).enabled]
            if used:
                raise ValueError(
                    f"{', '.join(used)}: a table network has no quantized layers to prune, factorize or sparsify; "
                    "size it with model.tables.nodes instead"
                )
        return self

    @model_validator(mode="after")
    def _explore_space_of_the_backend(self) -> FlowConfig:
        if self.explore is None:
            return self
        default = ExploreConfig()  # compared by value, not by the keys written: a flow survives its JSON round trip
        if self.model.arch is Arch.TABLES:
            finn_only = sorted(key for key in FINN_SPACE if getattr(self.explore, key) != getattr(default, key))
            if finn_only:
                raise ValueError(
                    f"explore.{finn_only[0]} searches FINN designs; a table network's space is explore.tables"
                )
        elif self.explore.tables != default.tables:
            raise ValueError(f"explore.tables searches table networks; arch '{self.model.arch}' is not one")
        return self


#: The exploration settings that only FINN designs read.
FINN_SPACE = frozenset({"weight_bits", "act_bits", "widths", "crop", "fps", "allocator", "distill", "finetune_epochs",
                        "finetune_lr"})  # fmt: skip


def load_flow(path: str | Path) -> FlowConfig:
    """Read a flow file; relative paths in it are taken relative to the file.

    Raises:
        ConfigError: one line naming the file and the first problem (an unknown key names the closest
            valid one).
    """
    path = Path(path)
    raw = read_yaml(path, "flow file; see flows/ for examples")
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a flow must be a YAML mapping with at least 'name' and 'model'")
    raw = _resolve_paths(raw, path.parent)
    return parse_flow(raw, source=str(path))


def read_yaml(path: Path, what: str) -> Any:
    """The YAML document in ``path``.

    Raises:
        ConfigError: one line: no such file (``what`` says what was expected), not UTF-8, or not valid YAML.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such {what}") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: a directory, not a {what}") from None
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{err.object[err.start]:02x} at offset {err.start}); save it as UTF-8"
        ) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}:{where} is not valid YAML ({getattr(err, 'problem', err)})") from None


def parse_flow(raw: dict[str, Any], source: str = "<flow>") -> FlowConfig:
    """Validate a flow given as a dict; errors name ``source``."""
    try:
        return FlowConfig.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(f"{source}: {describe_validation_error(err)}") from None


def describe_validation_error(err: ValidationError, root: type[BaseModel] | None = None) -> str:
    """The first error of ``err`` as one phrase; an unknown key gets the closest valid key of ``root``'s schema.

    Unknown keys come first: a misspelt required key also shows up as missing, and the misspelling is the news.
    """
    errors = sorted(err.errors(), key=lambda e: e["type"] != "extra_forbidden")
    first = errors[0]
    loc = tuple(str(part) for part in first["loc"])
    model, shown = _walk(root or FlowConfig, loc[:-1])
    dotted = ".".join([*shown, *loc[-1:]])
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    if first["type"] == "extra_forbidden":
        valid = list(model.model_fields) if isinstance(model, type) and issubclass(model, BaseModel) else []
        close = difflib.get_close_matches(loc[-1], valid, n=1, cutoff=0.5)
        prefix = ".".join(shown)
        hint = (
            f"did you mean '{prefix + '.' if prefix else ''}{close[0]}'?"
            if close
            else f"valid keys here: {', '.join(valid)}"
        )
        return f"unknown key '{dotted}'; {hint}{more}"
    if first["type"] == "missing":
        return f"missing key '{dotted}'{more}"
    if first["type"] == "union_tag_invalid":
        expected = first["ctx"]["expected_tags"].replace("'", "")
        return f"{dotted}: unknown name '{first['ctx']['tag']}'; one of {expected}{more}"
    message = first["msg"].removeprefix("Value error, ")
    where = f"{dotted}: " if dotted else ""
    got = f" (got {first['input']!r})" if loc and not isinstance(first["input"], dict) else ""
    return f"{where}{message}{got}{more}"


def _walk(root: type[BaseModel], loc: tuple[str, ...]) -> tuple[Any, list[str]]:
    """The model reached from ``root`` by following ``loc``, and ``loc`` as the user wrote it.

    Dict keys (``quant.layers.fc0``) stay in the path; the tags pydantic adds for a tagged union
    (``prune.criterion.pcas``) are left out, since the user wrote ``name: pcas``.
    """
    model: Any = root
    shown = []
    for part in loc:
        members = _models_in(model)
        tagged = [m for m in members if _tag_of(m) == part]
        if len(members) > 1 and tagged:
            model = tagged[0]
            continue
        shown.append(part)
        owner = next((m for m in members if part in m.model_fields), None)
        model = owner.model_fields[part].annotation if owner else (members[0] if members else None)
    members = _models_in(model)
    return (members[0] if len(members) == 1 else model), shown


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The models an annotation holds: itself, or those inside Optional, a union, Annotated or dict[str, ...]."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [model for arg in typing.get_args(annotation) for model in _models_in(arg)]


def _tag_of(model: type[BaseModel]) -> str | None:
    """The ``name`` literal that tags a member of a union (a criterion config's name)."""
    field = model.model_fields.get("name")
    return field.default if field is not None and isinstance(field.default, str) else None


def _resolve_paths(raw: dict[str, Any], base: Path) -> dict[str, Any]:
    """Make the flow's file paths absolute against the flow file's directory (``~`` is the user's home)."""
    raw = dict(raw)
    keys = {"data": ("path",), "compile": ("folding_config",), "deploy": ("key_file", "known_hosts")}
    for section, names in keys.items():
        values = raw.get(section)
        if isinstance(values, dict):
            raw[section] = {
                **values,
                **{name: _absolute(base, values[name]) for name in names if isinstance(values.get(name), str)},
            }
    board = raw.get("board")
    if isinstance(board, str) and board.endswith((".yaml", ".yml")):
        raw["board"] = _absolute(base, board)
    return raw


def _absolute(base: Path, path: str) -> str:
    return str((base / Path(path).expanduser()).resolve())
