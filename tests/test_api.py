import pytest

import hwcompress


def test_compile_a_pytorch_module_through_the_public_api(tmp_path, foreign_model):
    net, x, expected = foreign_model
    report = hwcompress.compile_model(
        net,
        input_shape=(16,),
        inputs=x,
        labels=expected.argmax(1),
        board="pynq-z2",
        target_fps=1000,
        out_dir=tmp_path / "api",
    )
    assert report["verify"]["mismatches"] == 0 and report["verify"]["samples"] == len(x)
    assert report["estimate"]["lut"] > 0 and (tmp_path / "api" / "report.md").exists()
    assert not (tmp_path / ".api.incomplete").exists()


def test_mismatches_are_an_error_for_python_users_too_with_the_report_written(tmp_path, foreign_model):
    _, x, expected = foreign_model
    wrong = expected.copy()
    wrong[3] += 1.0
    with pytest.raises(hwcompress.VerificationError) as err:
        hwcompress.compile_model(tmp_path / "foreign.onnx", inputs=x, expected=wrong, out_dir=tmp_path / "out")
    assert str(err.value).startswith(
        "verification failed: the accelerator's outputs differ from the model's on 1 input of 40 (the first is input 3)"
    )
    assert err.value.report["verify"]["mismatches"] == 1 and (tmp_path / "out" / "report.json").exists()


def test_a_board_or_layer_mistake_is_caught_before_anything_runs(tiny_flow, tmp_path):
    from hwcompress.config import parse_flow

    with pytest.raises(hwcompress.api.ConfigError, match="unknown board 'pynq-z3'; did you mean 'pynq-z2'"):
        hwcompress.load(parse_flow(tiny_flow(board="pynq-z3")))
    with pytest.raises(hwcompress.api.ConfigError, match=r"quant.layers names unknown layer\(s\) \['fc7'\]"):
        hwcompress.load(parse_flow(tiny_flow(quant={"layers": {"fc7": {"weight_bits": 4}}})))
    assert not (tmp_path / "runs").exists()


def test_public_api_survives_the_compile_subpackage_being_imported():
    import hwcompress.compile.steps  # the sub-package must not shadow the API

    assert callable(hwcompress.run) and callable(hwcompress.compile_model)
    assert hwcompress.__all__ == ["Run", "VerificationError", "compile_model", "load", "measure", "run"]
