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
