"""The nodes FINN would leave outside the accelerator, where they sit, and whether hwcompress runs them.

After FINN's conversion to hardware layers, every node outside FINN's ``fpgadataflow`` domain stays on the host:
before the accelerator (no hardware layer feeds it), after it (none reads it) or between two parts of it. The
host runs exactly only what needs no arithmetic of its own: layout ops before the accelerator (the verifier and
the bundle apply them to the inputs). The element-wise ops and layout changes that end a graph were cut off
earlier into the host tail (``driver.host_tail``). Anything else would be computed by nobody: the design is
refused before anything is built, with one line naming each node and what to do.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

HW_DOMAIN = "finn.custom_op.fpgadataflow"
#: Ops the host runs before the accelerator (they move values, they compute nothing).
HOST_LAYOUT_OPS = ("Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Identity")
#: What to do about the ops users meet most often.
HINTS = {
    "ConvTranspose": "FINN has no transposed convolution; end the exported model before it and apply it to the "
    "accelerator's outputs yourself",
    "Relu": "use a QuantReLU, which FINN turns into thresholds",
    "Add": "quantize both operands with one shared quantizer, so that FINN adds integers",
}
DEFAULT_HINT = "remove it from the exported model, or quantize its inputs and outputs so that FINN can convert it"
PLACES = {
    "before": "before the accelerator",
    "after": "after the accelerator",
    "between": "between two parts of the accelerator",
    "outside": "with no hardware layer on either side",
}


@dataclass(frozen=True)
class HostNode:
    """A node outside the accelerator: ``where`` is before, after or between (parts of) the accelerator, or outside
    it altogether (in a graph without hardware layers on either side)."""

    name: str
    op: str
    where: str
    runs_on_host: bool

    def to_json(self) -> dict:
        return asdict(self)


def host_nodes(model) -> list[HostNode]:
    """Every node of a HW-layer graph that is not a hardware layer, in graph order."""
    hardware = {node.name for node in model.graph.node if node.domain.startswith(HW_DOMAIN)}
    found = []
    for node in model.graph.node:
        if node.name in hardware:
            continue
        after = bool(_reach(model, node, upstream=True) & hardware)
        before = bool(_reach(model, node, upstream=False) & hardware)
        where = "between" if before and after else "after" if after else "before" if before else "outside"
        found.append(HostNode(node.name, node.op_type, where, where == "before" and node.op_type in HOST_LAYOUT_OPS))
    return found


def refusal(nodes: list[HostNode]) -> str | None:
    """One line naming each node the host does not run and what to do about it; None when there is none."""
    refused = [node for node in nodes if not node.runs_on_host]
    if not refused:
        return None
    listed = "; ".join(
        f"{node.name} ({node.op}, {PLACES[node.where]}): {HINTS.get(node.op, DEFAULT_HINT)}" for node in refused
    )
    return (
        f"FINN cannot put {'this node' if len(refused) == 1 else 'these nodes'} in hardware and hwcompress does not "
        f"run {'it' if len(refused) == 1 else 'them'} on the host: {listed}"
    )


def _reach(model, node, upstream: bool) -> set[str]:
    """Names of the nodes ``node`` depends on (``upstream``) or that depend on it."""
    seen: set[str] = set()
    frontier = [node]
    while frontier:
        current = frontier.pop()
        if upstream:
            neighbours = [model.find_producer(name) for name in current.input]
        else:
            neighbours = [c for name in current.output for c in (model.find_consumers(name) or [])]
        for other in neighbours:
            if other is not None and other.name not in seen:
                seen.add(other.name)
                frontier.append(other)
    return seen
