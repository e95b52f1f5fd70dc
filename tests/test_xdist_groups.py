"""`make test` runs on two xdist workers with ``--dist loadgroup``: the tests of one group (one pipeline run
of the sample, the Spark builds, ...) share one worker and its session fixtures. pytest 9.2 silently broke
that grouping (pytest-xdist#1386: every fixture was built on both workers, the suite took twice as long);
this test fails when the grouping is not in force."""

import pytest

pytestmark = pytest.mark.xdist_group("sample_run")


def test_the_xdist_group_of_a_test_is_honoured(request):
    if not getattr(request.config.option, "loadgroup", False):
        pytest.skip("not run by xdist with --dist loadgroup")
    assert request.node.nodeid.endswith("@sample_run"), (
        f"{request.node.nodeid}: pytest-xdist's loadgroup suffix is missing, the groups are not honoured "
        "(pytest 9.2 and pytest-xdist 3.8: pin pytest below 9.2)"
    )


def test_the_longest_units_are_handed_out_first(request):
    """xdist schedules the units in collection order (`--no-loadscope-reorder`): the long ones come first, in
    the order of conftest.LONG_UNITS, so no long unit starts when the rest of the suite is nearly done."""
    from tests.conftest import COLLECTED_UNITS, LONG_UNITS, whole_suite, xdist_unit

    if getattr(request.config.option, "dist", "no") != "no":
        assert request.config.getoption("loadscopereorder") is False, (
            "xdist reorders the units by their number of tests: run with --no-loadscope-reorder (Makefile)"
        )
    units = list(dict.fromkeys(xdist_unit(item) for item in request.session.items))
    collected = [u for u in LONG_UNITS if u in units]
    assert units[: len(collected)] == collected
    if whole_suite(request.config):
        # the whole suite (`make test-all`, or `make test` before `-m` deselected the slow tier): every unit named
        # exists (a renamed test or group would silently lose its place)
        every_unit = request.config.stash[COLLECTED_UNITS]
        assert [u for u in LONG_UNITS if u in every_unit] == list(LONG_UNITS)
