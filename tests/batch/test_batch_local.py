"""Batch jobs on this machine (no Ray): rows and schema, error rows, the three outputs, resume, a killed worker."""

from __future__ import annotations

import collections
import json

import pyarrow.parquet as pq
import pytest

from emolens.batch import job as job_module
from emolens.batch.inputs import find_inputs
from emolens.batch.job import run_job
from emolens.batch.output import Output, schema
from emolens.batch.spec import WorkSpec
from emolens.batch.worker import CHAOS_ENV
from emolens.cli import main

from batch_helpers import VIDEO_FRAMES, make_archive

# rows per input of make_archive: the astronaut photos have one face, the group photo four
EXPECTED = {"astronaut0.jpg": 1, "astronaut1.jpg": 1, "astronaut2.jpg": 1, "group.jpg": 4, "empty.png": 1}
EXPECTED |= {"broken.jpg": 1, "clip.mp4": 2 * VIDEO_FRAMES}


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    root = tmp_path_factory.mktemp("archive")
    make_archive(root)
    return root


def rows_per_input(table) -> dict[str, int]:
    return dict(collections.Counter(s.rsplit("/", 1)[-1] for s in table.column("source").to_pylist()))


def test_photos_and_videos_give_one_row_per_face_with_the_documented_schema(archive, tmp_path):
    spec = WorkSpec()
    items, _ = find_inputs([str(archive)])
    stats = run_job(items, spec, Output(tmp_path / "r.parquet", spec.labels()))
    table = pq.read_table(tmp_path / "r.parquet")
    assert table.schema == schema(spec.labels())
    assert rows_per_input(table) == EXPECTED and stats.written == sum(EXPECTED.values())
    assert (stats.inputs, stats.analysed, stats.skipped, stats.errors) == (7, 7, 0, 1)
    rows = table.to_pylist()
    by_status = collections.defaultdict(list)
    for r in rows:
        by_status[(r["source"].rsplit("/", 1)[-1], r["status"])].append(r)
    [broken] = by_status[("broken.jpg", "error")]
    assert "not an image" in broken["error"] and broken["emotion"] is None
    [empty] = by_status[("empty.png", "no_face")]
    assert (empty["width"], empty["height"], empty["face"]) == (160, 120, None)
    group = by_status[("group.jpg", "ok")]
    assert [r["face"] for r in group] == [1, 2, 3, 4] and all(len(r["landmarks"]) == 10 for r in group)
    for r in group:
        probs = [r[f"prob_{k}"] for k in spec.labels()]
        assert abs(sum(probs) - 1) < 0.01 and r["emotion"] == spec.labels()[probs.index(max(probs))]
        assert r["confidence"] == max(probs) and r["width"] > r["x"] + r["w"] - 1
    video = by_status[("clip.mp4", "ok")]
    assert sorted({r["frame"] for r in video}) == list(range(VIDEO_FRAMES)) and {r["face"] for r in video} == {1, 2}
    assert all(r["detected"] for r in video) and video[-1]["time"] == pytest.approx((VIDEO_FRAMES - 1) / 12, abs=1e-3)
    [summary] = [json.loads(line) for line in (tmp_path / "r.videos.jsonl").read_text().splitlines()]
    assert (summary["frames"], summary["face_count"], summary["video"]["width"]) == (VIDEO_FRAMES, 2, 640)
    assert summary["source"].endswith("clip.mp4") and summary["error"] is None


def test_csv_and_partitioned_parquet_hold_the_same_rows(archive, tmp_path, capsys):
    assert main(["batch", str(archive), "--out", str(tmp_path / "r.csv"), "--photos-per-task", "2"]) == 1  # broken.jpg
    assert main(["batch", str(archive), "--out", str(tmp_path / "parts") + "/", "--photos-per-task", "2"]) == 1
    out = capsys.readouterr().out
    assert f"7 input(s) analysed, 0 already done, 1 error(s); {sum(EXPECTED.values())} row(s)" in out
    dataset = pq.read_table(tmp_path / "parts")  # the folder is one dataset (the summaries' _videos.jsonl is skipped)
    assert rows_per_input(dataset) == EXPECTED and len(list((tmp_path / "parts").glob("part-*.parquet"))) == 4
    lines = (tmp_path / "r.csv").read_text().splitlines()
    assert lines[0].split(",")[:4] == ["source", "kind", "status", "error"] and len(lines) == 1 + sum(EXPECTED.values())
    assert (tmp_path / "r.videos.jsonl").is_file() and (tmp_path / "parts" / "_videos.jsonl").is_file()


def test_a_stopped_job_resumes_without_redoing_or_losing_anything(archive, tmp_path):
    spec = WorkSpec()
    items, _ = find_inputs([str(archive)])
    seen: list[list[str]] = []

    def stop_after_two(result):
        seen.append(result.keys)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_job(items, spec, Output(tmp_path / "r.parquet", spec.labels()), photos_per_task=1, on_result=stop_after_two)
    assert not (tmp_path / "r.parquet").exists()  # stopped before the merge: the parts hold what was done
    first = {k for keys in seen for k in keys}
    again: list[str] = []
    stats = run_job(
        items,
        spec,
        Output(tmp_path / "r.parquet", spec.labels()),
        photos_per_task=1,
        on_result=lambda r: again.extend(r.keys),
    )
    assert (
        (stats.skipped, stats.analysed) == (2, 5)
        and not first & set(again)
        and first | set(again) == {i.key for i in items}
    )
    assert rows_per_input(pq.read_table(tmp_path / "r.parquet")) == EXPECTED
    stats = run_job(items, spec, Output(tmp_path / "r.parquet", spec.labels()))  # a third run: nothing left to do
    assert (stats.skipped, stats.analysed, stats.written) == (7, 0, sum(EXPECTED.values()))


@pytest.mark.slow
def test_a_killed_worker_process_loses_nothing_and_duplicates_nothing(archive, tmp_path, monkeypatch):
    chaos = tmp_path / "chaos"
    chaos.mkdir()
    monkeypatch.setenv(CHAOS_ENV, str(chaos))  # the first pool process to finish an input dies (SIGKILL)
    spec = WorkSpec()
    items, _ = find_inputs([str(archive)])
    stats = run_job(items, spec, Output(tmp_path / "r.parquet", spec.labels()), workers=2, threads=1, photos_per_task=1)
    assert (chaos / "killed").is_file()
    assert rows_per_input(pq.read_table(tmp_path / "r.parquet")) == EXPECTED
    assert (stats.analysed, stats.errors) == (7, 1)


def test_a_partition_that_never_comes_back_becomes_error_rows(archive, tmp_path, monkeypatch):
    monkeypatch.setattr(job_module, "local_results", lambda parts, spec, workers: iter(()))
    spec = WorkSpec()
    items, _ = find_inputs([str(archive / "videos")])
    stats = run_job(items, spec, Output(tmp_path / "r.parquet", spec.labels()))
    [row] = pq.read_table(tmp_path / "r.parquet").to_pylist()
    assert row["status"] == "error" and "died 4 times" in row["error"] and stats.errors == 1


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--out", "r.txt"], "write results to a .parquet or .csv file, or to a folder"),
        (["--out", "r.csv", "--workers", "0"], "--workers must be at least 1"),
        (["--out", "r.csv", "--every", "0"], "--every must be at least 1"),
        (["--out", "r.csv", "--model", "nosuch"], "no model at 'nosuch'"),
        (["--out", "afile/r.csv"], "--out afile/r.csv: Not a directory"),
    ],
)
def test_bad_options_are_one_line_errors(archive, tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("a file, not a folder")
    assert main(["batch", str(archive / "videos"), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_nothing_to_analyse_and_ray_missing_are_one_line_errors(archive, tmp_path, monkeypatch, capsys):
    assert main(["batch", str(tmp_path / "nope"), "--out", str(tmp_path / "r.csv")]) == 2
    assert "no such file or folder" in capsys.readouterr().err

    def no_ray():
        from emolens.batch.on_ray import RayMissing

        raise RayMissing("--ray needs Ray: pip install 'emolens[ray]' (or run without --ray, on this machine)")

    monkeypatch.setattr("emolens.batch.on_ray.import_ray", no_ray)
    assert main(["batch", str(archive / "videos"), "--out", str(tmp_path / "r.csv"), "--ray"]) == 2
    assert "pip install 'emolens[ray]'" in capsys.readouterr().err


def test_a_video_over_the_pixel_limit_is_an_error_row_naming_the_setting(archive, tmp_path):
    spec = WorkSpec(max_megapixels=0.1)  # the clip is 640x360
    items, _ = find_inputs([str(archive / "videos")])
    stats = run_job(items, spec, Output(tmp_path / "r.csv", spec.labels()))
    lines = (tmp_path / "r.csv").read_text().splitlines()
    assert stats.errors == 1 and len(lines) == 2 and "over the limit of 0.1 MP per frame (--max-megapixels)" in lines[1]
    [summary] = [json.loads(line) for line in (tmp_path / "r.videos.jsonl").read_text().splitlines()]
    assert "--max-megapixels" in summary["error"]
