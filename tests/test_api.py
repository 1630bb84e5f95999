import hwcompress
from tests.test_end_to_end import _foreign_model


def test_compile_a_pytorch_module_through_the_public_api(tmp_path):
    net, x, expected = _foreign_model(tmp_path)
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


def test_public_api_survives_the_compile_subpackage_being_imported():
    import hwcompress.compile.steps  # the sub-package must not shadow the API

    assert callable(hwcompress.run) and callable(hwcompress.compile_model)
    assert hwcompress.__all__ == ["compile_model", "run"]
