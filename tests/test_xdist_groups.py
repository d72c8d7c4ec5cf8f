"""make test's scheduling: tests that share a costly module fixture must stay on one xdist worker, and
each worker keeps to one CPU (tests/conftest.py).

pytest 9.2 silently broke pytest-xdist's grouping (pytest-dev/pytest-xdist#1386): the suite stayed green
and built the emulator deploy, the 200-model synth and a Spark JVM once per worker. This fails instead.
"""

import os

from tests.conftest import worker_cpu


def test_grouped_tests_carry_their_group_under_loadgroup(request):
    """Under `make test` (`--dist loadgroup`), xdist marks each grouped test's id with its group."""
    loadgroup = getattr(request.config.option, "loadgroup", False)  # set in xdist workers by loadgroup
    grouped = [item for item in request.session.items if item.get_closest_marker("xdist_group")]
    lost = [
        item.nodeid
        for item in grouped
        if loadgroup and not item.nodeid.endswith(f"@{item.get_closest_marker('xdist_group').args[0]}")
    ]
    assert lost == [], f"pytest-xdist ignored xdist_group for {len(lost)} tests, e.g. {lost[:1]}"


def test_each_worker_keeps_to_its_own_cpu(request):
    assert [worker_cpu(f"gw{n}", [0, 1]) for n in range(4)] == [0, 1, 0, 1]
    assert worker_cpu("gw1", [2, 5, 7]) == 5  # the allowed CPUs, not 0..N-1
    if hasattr(request.config, "workerinput") and hasattr(os, "sched_getaffinity"):  # under make test
        allowed = sorted(os.sched_getaffinity(os.getppid()))  # the controller's, which stays unpinned
        assert os.sched_getaffinity(0) == {worker_cpu(request.config.workerinput["workerid"], allowed)}
