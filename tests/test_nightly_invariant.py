"""Night after night on one instance, whatever lands, the served files equal a fresh build (tests/nightly.py)."""

import os

import pytest

from tests import nightly

# no xdist group: the sequences are independent and spread over both workers (each builds its own base)
SEQUENCES = int(os.environ.get("PFPW_NIGHTLY_SEQUENCES", "4"))
NIGHTS = int(os.environ.get("PFPW_NIGHTLY_NIGHTS", "4"))


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return nightly.small_zone(tmp_path_factory.mktemp("nightly") / "base")


@pytest.mark.parametrize("seed", range(SEQUENCES))
def test_random_nights_equal_a_fresh_build(base, tmp_path, seed):
    # the last sequence's nights run on Dagster's multiprocess executor (incremental nights included)
    executor = "multiprocess" if seed == SEQUENCES - 1 else "in_process"
    problems = nightly.run_sequence(base, tmp_path, seed=seed, nights=NIGHTS, executor=executor)
    assert not problems, "\n".join(problems)
