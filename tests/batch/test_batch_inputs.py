"""What a batch job reads: folders, lists, globs, files; each input once; partitions."""

from __future__ import annotations

import io
import os

import pytest

from emolens.batch.inputs import Item, find_inputs, partitions


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "a" / "deep").mkdir(parents=True)
    for name in ("a/one.jpg", "a/deep/two.PNG", "a/clip.mp4", "a/notes.txt", "b.jpg"):
        (tmp_path / name).write_bytes(b"x")
    return tmp_path


def test_folders_lists_globs_and_files_give_each_input_once(tree, monkeypatch):
    (tree / "list.txt").write_text("# photos\nb.jpg\n\na/one.jpg\n" + str(tree / "a" / "clip.mp4") + "\n")
    items, problems = find_inputs([str(tree / "a"), str(tree / "list.txt"), str(tree / "**" / "*.jpg")])
    names = [os.path.relpath(i.path, tree) for i in items]
    assert names == ["a/clip.mp4", "a/deep/two.PNG", "a/one.jpg", "b.jpg"]  # notes.txt is no photo
    assert [i.kind for i in items] == ["video", "photo", "photo", "photo"]
    assert all(i.key == i.path and os.path.isabs(i.path) for i in items) and problems == []
    monkeypatch.setattr("sys.stdin", io.StringIO(str(tree / "b.jpg") + "\n"))
    assert [i.path for i in find_inputs(["-"])[0]] == [str(tree / "b.jpg")]


def test_sources_that_give_nothing_are_named_with_the_reason(tree):
    (tree / "empty").mkdir()
    (tree / "none.txt").write_text("# nothing here\n")
    items, problems = find_inputs(
        [str(tree / "nope"), str(tree / "empty"), str(tree / "*.gif"), str(tree / "none.txt")]
    )
    assert items == []
    assert [why for _, why in problems] == [
        "no such file or folder",
        "no photos or videos in this folder",
        "no file matches this pattern",
        "this list names no file",
    ]


def test_a_video_is_a_partition_of_its_own_photos_come_in_groups():
    items = [Item(f"/p{i}.jpg", "photo", f"/p{i}.jpg") for i in range(5)] + [Item("/v.mp4", "video", "/v.mp4")]
    parts = partitions(items, photos_per_task=2)
    assert [[i.path for i in p] for p in parts] == [
        ["/v.mp4"],
        ["/p0.jpg", "/p1.jpg"],
        ["/p2.jpg", "/p3.jpg"],
        ["/p4.jpg"],
    ]
    with pytest.raises(ValueError, match="at least 1"):
        partitions(items, photos_per_task=0)
    assert Item.from_dict({"path": "/v", "kind": "session", "key": "k", "meta": {"agent": "ana"}}).meta == {
        "agent": "ana"
    }
