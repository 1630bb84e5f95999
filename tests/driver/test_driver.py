"""The board-side driver against the simulated board: the IODMA protocol, timeouts, the clock, bundle integrity."""

import json
import subprocess
import sys

import numpy as np
import pytest

from hwcompress.driver.accelerator import Accelerator, DriverError
from hwcompress.driver.bundle import Bundle, BundleError
from hwcompress.driver.hardware import SimulatedHardware
from hwcompress.driver.measure import throughput, validate


@pytest.fixture
def bundle(write_tiny_bundle, tmp_path):
    return Bundle(write_tiny_bundle(tmp_path))


def simulated(bundle, **kwargs):
    return Accelerator(bundle.settings, SimulatedHardware(bundle.settings, bundle.reference()), **kwargs)


def test_the_simulated_board_computes_the_verified_outputs_through_the_dma_protocol(bundle, tiny_design):
    bundle.verify()
    result = validate(bundle, simulated(bundle, batch_size=64))
    assert result["backend"] == "simulated-board" and result["mismatches"] == 0
    assert result["reference_agrees"] is None, "the simulated board computes with the reference: no evidence"
    labels, golden = bundle.array("labels"), bundle.array("golden")
    assert result["accuracy"] == float((bundle.predictions(golden) == labels).mean())
    speed = throughput(simulated(bundle, batch_size=10), [1, 10], repeats=2, warmup=1)
    assert set(speed["fps"]) == {"1", "10"} and speed["backend"] == "simulated-board"
    assert set(speed["latency_us"]) == {"p50", "p95", "p99"} and speed["repeats"] == 2


def test_a_dma_that_never_finishes_times_out_with_one_line(bundle):
    class Stuck(SimulatedHardware):
        def _compute(self):  # the output DMA never reports done
            pass

    accelerator = Accelerator(bundle.settings, Stuck(bundle.settings, bundle.reference()), batch_size=3, timeout_s=0.2)
    with pytest.raises(DriverError, match=r"output DMA \(odma0\) did not finish 3 images within 0.2 s"):
        accelerator.execute(bundle.array("inputs")[:3])


def test_a_clock_that_does_not_take_the_bundles_value_is_refused(bundle):
    class SlowClock(SimulatedHardware):
        @property
        def clock_mhz(self):
            return 100.0 if not hasattr(self, "_wanted") else self._wanted / 2

        @clock_mhz.setter
        def clock_mhz(self, mhz):
            self._wanted = mhz

    with pytest.raises(DriverError, match="the fabric clock is 50 MHz but this bundle was built for 100 MHz"):
        Accelerator(bundle.settings, SlowClock(bundle.settings, bundle.reference()))


def test_a_changed_bundle_file_is_refused_by_name(bundle):
    golden = bundle.path("golden")
    np.save(golden, np.zeros((3, 10), dtype=np.int64))
    with pytest.raises(BundleError, match=r"^data/golden.npy: sha256 \w+\.\.\. does not match the manifest's"):
        bundle.verify()
    result = subprocess.run(
        [sys.executable, "-m", "driver", "validate"], cwd=bundle.root, capture_output=True, text=True
    )
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("error: data/golden.npy: sha256") and len(result.stderr.splitlines()) == 1


def test_execute_writes_the_accelerators_outputs(bundle, tmp_path):
    inputs = bundle.array("inputs")[:20]
    np.save(tmp_path / "in.npy", inputs)
    result = subprocess.run(
        [sys.executable, "-m", "driver", "execute", str(tmp_path / "in.npy"), str(tmp_path / "out.npy")],
        cwd=bundle.root,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["samples"] == 20
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), bundle.array("golden")[:20])
