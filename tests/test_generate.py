"""The committed sample is exactly what `pfpw generate` writes with the default seed."""

import hashlib

from dagster_project.cli import main
from tests.conftest import SAMPLE


def digest(root):
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_generator_reproduces_the_committed_sample(tmp_path):
    assert main(["generate", "--out", str(tmp_path / "gen")]) == 0
    assert digest(tmp_path / "gen") == digest(SAMPLE)


def test_generate_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "f").write_text("keep")
    assert main(["generate", "--out", str(tmp_path / "x")]) == 2
