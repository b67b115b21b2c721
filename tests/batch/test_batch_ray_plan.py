"""How a job uses Ray, without a cluster: the address rules of --ray, actors and threads per actor."""

from __future__ import annotations

import pytest

from emolens.batch import on_ray
from emolens.batch.on_ray import LOCAL, Plan, connect


class FakeRay:
    def __init__(self, fail: bool = False):
        self.calls: list[dict] = []
        self.fail = fail

    def is_initialized(self) -> bool:
        return False

    def init(self, **kw):
        self.calls.append(kw)
        if self.fail:
            raise ConnectionError("Could not find any running Ray instance")


@pytest.mark.parametrize(
    "address, expected",
    [
        (LOCAL, {"include_dashboard": False, "log_to_driver": False}),  # --ray: a local instance for this job
        ("auto", {"address": "auto", "log_to_driver": False}),  # --ray auto: the cluster running here
        ("10.0.0.5:6379", {"address": "10.0.0.5:6379", "log_to_driver": False}),
    ],
)
def test_the_address_says_whether_to_join_a_cluster_or_start_one(monkeypatch, address, expected):
    fake = FakeRay()
    monkeypatch.setattr(on_ray, "import_ray", lambda: fake)
    assert connect(address) is True and fake.calls == [expected]


def test_no_cluster_at_the_address_says_how_to_start_one(monkeypatch):
    monkeypatch.setattr(on_ray, "import_ray", lambda: FakeRay(fail=True))
    with pytest.raises(ConnectionError, match="start one with `ray start --head`"):
        connect("auto")


@pytest.mark.parametrize(
    "cpus, actors, threads, plan",
    [
        (16, None, None, Plan(actors=16, threads=1)),  # one actor per CPU
        (16, 4, None, Plan(actors=4, threads=4)),  # threads per actor = cores / actors
        (16, None, 4, Plan(actors=4, threads=4)),
        (2, 4, None, Plan(actors=4, threads=1)),  # never below one thread
    ],
)
def test_threads_per_actor_are_the_cores_shared_out(cpus, actors, threads, plan):
    assert Plan.for_cluster(cpus, actors, threads) == plan
