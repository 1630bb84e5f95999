from pathlib import Path

import pytest

from hwcompress.config import Arch, DatasetName, FlowConfig, load_flow, parse_flow
from hwcompress.errors import ConfigError

FLOW_FILES = sorted((Path(__file__).resolve().parent.parent / "flows").glob("*.yaml"))


@pytest.mark.parametrize("path", FLOW_FILES, ids=lambda p: p.name)
def test_every_shipped_flow_loads_and_round_trips_through_json(path: Path):
    flow = load_flow(path)
    assert FlowConfig.model_validate_json(flow.model_dump_json()) == flow


def test_a_fully_specified_flow_round_trips_through_json(tiny_flow):
    raw = tiny_flow(
        quant={"layers": {"fc0": {"weight_bits": 4, "act_bits": 3}, "out": {"weight_bits": 8}}},
        train={"optimizer": "sgd", "schedule": "step", "step_epochs": 3, "gamma": 0.5, "seed": 7},
        target={"fps": 12345.5, "clock_mhz": 125},
        data={"val_fraction": 0.2, "train_limit": 100, "test_limit": 50, "download": False},
        prune={"criterion": {"name": "taylor", "batches": 5, "normalization": "max"}, "rate": 0.5},
        sparsify={"enabled": True, "sparsity": 0.8, "schedule": "fixed", "sharing": {"bits": 3}},
    )
    flow = parse_flow(raw)
    again = FlowConfig.model_validate_json(flow.model_dump_json())
    assert again == flow
    assert again.quant.layers["fc0"].act_bits == 3
    assert again.data.name is DatasetName.DIGITS
    assert again.prune.criterion.batches == 5 and again.sparsify.sharing.bits == 3


def test_config_is_frozen(tiny_flow):
    flow = parse_flow(tiny_flow())
    with pytest.raises(Exception, match="frozen"):
        flow.train.epochs = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("section", "key", "suggestion"),
    [
        ("train", "epohcs", "train.epochs"),
        ("data", "nmae", "data.name"),
        (None, "boards", "board"),
    ],
)
def test_misspelt_key_names_the_key_and_the_closest_valid_one(section, key, suggestion, tiny_flow):
    raw = tiny_flow()
    if section:
        raw[section] = {**raw[section], key: 1}
    else:
        raw[key] = "pynq-z2"
    dotted = f"{section}.{key}" if section else key
    with pytest.raises(ConfigError) as err:
        parse_flow(raw, source="flows/x.yaml")
    message = str(err.value)
    assert message.startswith("flows/x.yaml: ")
    assert f"unknown key '{dotted}'" in message
    assert f"did you mean '{suggestion}'?" in message
    assert "\n" not in message


def test_misspelt_key_inside_a_per_layer_override_is_found(tiny_flow):
    raw = tiny_flow(quant={"layers": {"fc0": {"weight_bit": 4}}})
    with pytest.raises(ConfigError, match=r"unknown key 'quant.layers.fc0.weight_bit'; did you mean .*weight_bits"):
        parse_flow(raw)


def test_out_of_range_value_names_the_field_and_the_value(tiny_flow):
    with pytest.raises(ConfigError, match=r"quant.weight_bits: .*less than or equal to 8 \(got 9\)"):
        parse_flow(tiny_flow(quant={"weight_bits": 9}))


def test_preset_arch_refuses_hidden_widths(tiny_flow):
    with pytest.raises(ConfigError, match="arch 'sfc' fixes hidden=\\[256, 256, 256\\]"):
        parse_flow(tiny_flow(model={"arch": "sfc", "hidden": [10]}))


def test_mlp_needs_hidden_and_presets_resolve(tiny_flow):
    with pytest.raises(ConfigError, match="needs 'hidden'"):
        parse_flow(tiny_flow(model={"arch": "mlp", "hidden": None}))
    flow = parse_flow(tiny_flow(model={"arch": "lfc", "hidden": None}))
    assert flow.model.arch is Arch.LFC and flow.model.hidden_widths == (1024, 1024, 1024)


def test_yaml_syntax_error_gives_the_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("name: x\nmodel: {arch: tfc\n")
    with pytest.raises(ConfigError, match=r"broken.yaml: line \d+ is not valid YAML"):
        load_flow(path)


def test_missing_file_and_non_mapping(tmp_path):
    with pytest.raises(ConfigError, match="no such flow file"):
        load_flow(tmp_path / "absent.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="must be a YAML mapping"):
        load_flow(tmp_path / "list.yaml")


def test_relative_data_path_is_relative_to_the_flow_file(tmp_path, write_flow, tiny_flow):
    path = write_flow(tiny_flow(data={"path": "data/mnist"}))
    assert load_flow(path).data.path == (tmp_path / "data" / "mnist").resolve()


def test_per_layer_bits_fall_back_to_the_defaults(tiny_flow):
    flow = parse_flow(tiny_flow(quant={"weight_bits": 3, "act_bits": 2, "layers": {"fc0": {"act_bits": 4}}}))
    assert flow.quant.weight_bits_of("fc0") == 3
    assert flow.quant.act_bits_of("fc0") == 4
    assert flow.quant.act_bits_of("fc1") == 2
