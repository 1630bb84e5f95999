"""On a mismatch, FINN's saved step models run on the mismatching inputs name the step and node that diverge."""

import functools

import pytest

import hwcompress
from hwcompress.compile import steps
from hwcompress.verify.divergence import Divergence


def corrupting(step, node_name: str):
    """``step`` (same name, so FINN saves its model under it), then the thresholds of ``node_name`` moved up."""

    @functools.wraps(step)
    def corrupted(model, cfg):
        model = step(model, cfg)
        node = model.get_node_from_name(node_name)
        thresholds = model.get_initializer(node.input[1]).copy()
        thresholds += 3
        model.set_initializer(node.input[1], thresholds)
        return model

    return corrupted


def test_a_mismatch_names_the_first_step_and_node_that_differ(tiny_design, tmp_path, monkeypatch):
    monkeypatch.setattr(steps, "step_hwc_host_tail", corrupting(steps.step_hwc_host_tail, "MultiThreshold_0"))
    data = tiny_design["data"]
    with pytest.raises(hwcompress.VerificationError) as raised:
        hwcompress.compile_model(
            tiny_design["model"], input_shape=(1, 8, 8), inputs=data.test_x, labels=data.test_y, target_fps=10_000,
            input_datatype="UINT8", out_dir=tmp_path / "out",
        )  # fmt: skip
    divergence = raised.value.report["verify"]["divergence"]
    assert divergence == {"step": "step_hwc_host_tail", "node": "MultiThreshold_0", "inputs": 8}
    message = str(raised.value)
    assert "the outputs first differ after FINN's step_hwc_host_tail, at node MultiThreshold_0" in message
    assert "first differ after FINN's step_hwc_host_tail" in (tmp_path / "out" / "report.md").read_text()


def test_steps_the_divergence_search_relies_on_are_the_builds():
    assert steps.step_hwc_host_tail.__name__ == steps.HOST_TAIL_STEP
    from finn.builder.build_dataflow_steps import step_create_dataflow_partition

    assert step_create_dataflow_partition.__name__ == steps.PARTITION_STEP


def test_when_every_saved_step_agrees_the_line_says_so():
    assert Divergence(None, None, 8).describe() == (
        "FINN's saved step models all agree with the reference on 8 of the mismatching inputs"
    )
