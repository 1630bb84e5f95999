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


def test_a_wheel_carries_every_board_file(repo, tmp_path):
    """An installed hwcompress finds its boards without the repository: the wheel holds boards/ as package data."""
    import shutil
    import subprocess
    import sys
    import zipfile

    source = tmp_path / "source"  # a copy: building writes build/ and *.egg-info next to the sources
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "boards"):
        (shutil.copytree if (repo / name).is_dir() else shutil.copy)(repo / name, source / name)
    caches = shutil.ignore_patterns("__pycache__")
    shutil.copytree(repo / "hwcompress", source / "hwcompress", symlinks=True, ignore=caches)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), "."],
        cwd=source, check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("hwcompress-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    shipped = sorted(name.rsplit("/", 1)[-1] for name in names if name.startswith("hwcompress/board_files/"))
    assert shipped == sorted(path.name for path in (repo / "boards").glob("*.yaml")) and len(shipped) == 5
    assert BOARDS_DIR.resolve() == (repo / "boards").resolve(), "the package's board files are the repository's"
