import pytest

from hwcompress.boards import BOARDS_DIR, all_boards, get_board, load_board_file
from hwcompress.errors import ConfigError

BOARD_FILES = sorted(BOARDS_DIR.glob("*.yaml"))


def test_the_five_boards_are_there():
    assert set(all_boards()) == {"pynq-z2", "pynq-z1", "ultra96-v2", "zcu104", "kv260"}


@pytest.mark.parametrize("path", BOARD_FILES, ids=lambda p: p.stem)
def test_finn_knows_each_board_name_and_part(path):
    from finn.util.basic import part_map

    board = load_board_file(path)
    assert board.name == path.stem
    assert board.finn_board in part_map, f"FINN has no board named {board.finn_board}"
    assert part_map[board.finn_board] == board.part


def test_pynq_z2_matches_the_vendor_data():
    board = get_board("pynq-z2")
    assert board.part == "xc7z020clg400-1"
    r = board.resources
    assert (r.lut, r.ff, r.bram18, r.dsp, r.uram) == (53_200, 106_400, 280, 220, 0)


def test_unknown_board_suggests_the_closest():
    with pytest.raises(ConfigError, match="unknown board 'pynq-z3'; did you mean 'pynq-z2'"):
        get_board("pynq-z3")


def test_a_board_file_path_works_and_is_validated(tmp_path):
    good = tmp_path / "mine.yaml"
    good.write_text((BOARDS_DIR / "pynq-z2.yaml").read_text().replace("name: pynq-z2", "name: mine"))
    assert get_board(str(good)).name == "mine"
    bad = tmp_path / "bad.yaml"
    bad.write_text((BOARDS_DIR / "pynq-z2.yaml").read_text().replace("lut:", "lutt:"))
    with pytest.raises(ConfigError, match=r"unknown key 'resources.lutt'; did you mean 'resources.lut'"):
        get_board(str(bad))
