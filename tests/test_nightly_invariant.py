"""Night after night on one instance, whatever lands, the served files equal a fresh build (tests/nightly.py)."""

import os

import pytest

from tests import nightly

# no xdist group: the sequences are independent and spread over both workers (each builds its own base)
# 4 sequences of 3 nights make every kind of change (test below); `make soak` runs 30 of 4
SEQUENCES = int(os.environ.get("PFPW_NIGHTLY_SEQUENCES", "4"))
NIGHTS = int(os.environ.get("PFPW_NIGHTLY_NIGHTS", "3"))


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    return nightly.small_zone(tmp_path_factory.mktemp("nightly") / "base")


@pytest.mark.parametrize("seed", range(SEQUENCES))
def test_random_nights_equal_a_fresh_build(base, tmp_path, seed):
    # the last sequence's nights run on Dagster's multiprocess executor (incremental nights included)
    executor = "multiprocess" if seed == SEQUENCES - 1 else "in_process"
    problems = nightly.run_sequence(base, tmp_path, seed=seed, nights=NIGHTS, executor=executor)
    assert not problems, "\n".join(problems)


def test_the_sequences_make_every_kind_of_change(base, tmp_path):
    """The seeds and nights above are few (each night is a run and a fresh build): together they must
    still make every kind of change, and the multiprocess sequence an incremental night."""
    kinds = {seed: nightly.planned_kinds(base, tmp_path, seed, NIGHTS) for seed in range(SEQUENCES)}
    made = {k for ks in kinds.values() for k in ks}
    assert made == set(nightly.World.CHANGES), f"never made: {set(nightly.World.CHANGES) - made}; {kinds}"
    assert {"late_month", "correction"} & set(kinds[SEQUENCES - 1]), kinds[SEQUENCES - 1]
