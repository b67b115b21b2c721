"""Batch jobs on a real Ray cluster started by the tests (raycluster.py): `ray start --head` on 127.0.0.1 plus
one worker node. Photos and videos, a bad file, a worker killed mid-job, resume, a manifest of sessions. Each job's
driver runs in its own child process (raycluster.in_driver), one ray.init per process as in `emolens batch --ray`."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'emolens[ray]' to run the cluster tests")
pytest.importorskip("ray.data", reason="Ray Data is not installed: pip install 'ray[data]'")

from ray_drivers import cli, stopped_after_one_partition, whole_job
from raycluster import LocalCluster, in_driver
from test_batch_local import EXPECTED, rows_per_input

from emolens.apps.db import open_database
from emolens.apps.registry import all_migrations
from emolens.apps.satisfaction import store
from emolens.batch.inputs import find_inputs
from emolens.batch.output import schema
from emolens.batch.spec import WorkSpec
from emolens.batch.worker import CHAOS_ENV

from batch_helpers import make_archive
from helpers import make_tiny_model, service_video

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    c = LocalCluster()
    try:
        yield c.start()
    finally:
        c.stop()


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    root = tmp_path_factory.mktemp("archive")
    make_archive(root)
    return root


def test_photos_and_videos_on_the_cluster_one_row_per_face_and_an_error_row(cluster, archive, tmp_path):
    out = str(tmp_path / "results") + "/"
    argv = ["batch", str(archive), "--out", out, "--ray", cluster.address, "--workers", "2", "--json"]
    code, printed = in_driver(cluster, cli, [*argv, "--photos-per-task", "2"])
    assert code == 1  # broken.jpg is an error row, the job goes on
    doc = json.loads(printed)
    assert (doc["inputs"], doc["analysed"], doc["errors"], doc["written"]) == (7, 7, 1, sum(EXPECTED.values()))
    table = pq.read_table(out)
    assert table.schema == schema(WorkSpec().labels()) and rows_per_input(table) == EXPECTED
    [error] = [r for r in table.to_pylist() if r["status"] == "error"]
    assert error["source"].endswith("broken.jpg") and "not an image" in error["error"]
    [summary] = [json.loads(line) for line in (tmp_path / "results" / "_videos.jsonl").read_text().splitlines()]
    assert (summary["frames"], summary["face_count"]) == (12, 2)


def test_a_stopped_job_resumes_and_a_worker_killed_mid_job_loses_and_duplicates_nothing(
    cluster, archive, tmp_path, monkeypatch
):
    items, _ = find_inputs([str(archive)])
    out = str(tmp_path / "r") + "/"
    first = in_driver(cluster, stopped_after_one_partition, str(archive), out, cluster.address)
    chaos = tmp_path / "chaos"
    chaos.mkdir()
    monkeypatch.setenv(CHAOS_ENV, str(chaos))  # in the rerun, the first actor to finish an input dies (SIGKILL)
    stats, rest = in_driver(cluster, whole_job, str(archive), out, cluster.address)
    assert (chaos / "killed").is_file()  # a worker really died, losing the partition it held; Ray retried it
    assert len(first) == 1 and (stats["skipped"], stats["analysed"], stats["errors"]) == (1, 6, 1)
    assert first[0] not in rest and sorted(first + rest) == sorted(i.key for i in items)
    assert rows_per_input(pq.read_table(out)) == EXPECTED  # each input's rows, once: none lost, none twice


def test_a_manifest_of_sessions_lands_in_the_store_once_despite_a_killed_worker(cluster, tmp_path, monkeypatch):
    model = make_tiny_model(tmp_path / "model")
    service_video(tmp_path / "counter.mp4", frames=60)
    (tmp_path / "m.csv").write_text(
        "video,location,agent,started_at\n"
        + "".join(f"counter.mp4,Shop {n},ana,2026-03-0{n}T09:00:00Z\n" for n in range(1, 4))
    )
    chaos = tmp_path / "chaos"
    chaos.mkdir()
    monkeypatch.setenv(CHAOS_ENV, str(chaos))
    argv = ["session", "analyze", "--manifest", str(tmp_path / "m.csv"), "--model", str(model), "--json"]
    argv += ["--ray", cluster.address, "--data-dir", str(tmp_path / "data"), "--user", "shop"]
    code, printed = in_driver(cluster, cli, argv)
    assert code == 0
    doc = json.loads(printed)
    assert (chaos / "killed").is_file() and len(doc["stored"]) == 3 and doc["failed"] == []
    sessions = store.list_sessions(
        open_database(tmp_path / "data" / "emolens.db", all_migrations()), None, store.SessionFilter()
    )
    assert sorted(s.location for s in sessions) == ["Shop 1", "Shop 2", "Shop 3"]  # each once
    assert all(s.status == "done" and s.score is not None and s.frames == 60 for s in sessions)
