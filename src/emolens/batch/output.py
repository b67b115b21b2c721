"""Where a batch job's results go, written so that a stopped job loses nothing and a rerun repeats nothing.

Each finished partition is written as its own Parquet part, `part-<id>.parquet` (to a temporary
name, then renamed: a part is there whole or not at all), its video summaries first, beside it
in `_videos/part-<id>.jsonl`. The inputs named in the parts are done: a rerun skips them. The
part's name comes from its inputs, so a partition written twice replaces itself.

    --out results.parquet   parts in results.parquet.parts/, merged into results.parquet at the end
    --out results.csv       the same, merged into results.csv (landmarks as JSON text)
    --out DIR/              the parts are the output: DIR/part-*.parquet (read DIR as one dataset)

Video summaries, one JSON document per line: results.videos.jsonl beside the file, DIR/_videos.jsonl
(a leading underscore: Parquet readers of DIR skip it). Keep the .parts folder to resume or add inputs.
"""

from __future__ import annotations

import csv
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from emolens.batch.rows import columns
from emolens.batch.worker import PartResult

log = logging.getLogger(__name__)

FORMATS = ("parquet", "csv", "dir")


class OutputError(ValueError):
    """An output path that cannot be used; the message says what to give instead."""


def _arrow() -> Any:
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:  # pragma: no cover - pyarrow is a base dependency
        raise OutputError("batch output needs pyarrow: pip install pyarrow") from None
    return pyarrow


def output_format(path: str) -> str:
    """'parquet', 'csv' or 'dir' (a name ending in / or an existing folder)."""
    if path.endswith(("/", os.sep)) or Path(path).is_dir():
        return "dir"
    suffix = Path(path).suffix.lower()
    if suffix in (".parquet", ".pq"):
        return "parquet"
    if suffix == ".csv":
        return "csv"
    raise OutputError(f"{path}: write results to a .parquet or .csv file, or to a folder (end it with /)")


def schema(labels: Sequence[str]) -> Any:
    pa = _arrow()
    types = {
        "string": pa.string(),
        "int64": pa.int64(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
        "list<float64>": pa.list_(pa.float64()),
    }
    return pa.schema([(name, types[kind]) for name, kind in columns(labels)])


class Output:
    """The results of one job: `done()` before it, `add(result)` per partition, `finish()` at the end."""

    def __init__(self, path: str | Path, labels: Sequence[str]):
        self.path = Path(path)
        self.format = output_format(str(path))
        self.labels = tuple(labels)
        self.schema = schema(self.labels)
        self.parts = self.path if self.format == "dir" else self.path.with_name(self.path.name + ".parts")
        if self.parts.exists() and not self.parts.is_dir():
            raise OutputError(f"{self.parts} is a file: the job keeps its parts in a folder of that name")
        self.parts.mkdir(parents=True, exist_ok=True)
        (self.parts / "_videos").mkdir(exist_ok=True)
        for stale in [*self.parts.glob(".tmp-*"), *(self.parts / "_videos").glob(".tmp-*")]:
            stale.unlink(missing_ok=True)  # a write that a stopped job left half done

    @property
    def summaries_path(self) -> Path:
        if self.format == "dir":
            return self.path / "_videos.jsonl"
        return self.path.with_name(self.path.stem + ".videos.jsonl")

    def part_files(self) -> list[Path]:
        return sorted(self.parts.glob("part-*.parquet"))

    def done(self) -> set[str]:
        """The inputs whose results are already written (by this job or an earlier, stopped one)."""
        pq = _arrow().parquet
        keys: set[str] = set()
        for part in self.part_files():
            try:
                keys.update(pq.read_table(part, columns=["source"]).column("source").to_pylist())
            except Exception as exc:  # noqa: BLE001 - a damaged part is redone, not trusted
                log.warning("%s cannot be read (%s): its inputs will be analysed again", part, exc)
                part.unlink(missing_ok=True)
        return keys

    def add(self, result: PartResult) -> None:
        """Write one partition's rows and summaries; the rows go last, atomically (they mark it done)."""
        if not result.rows:
            return
        pq = _arrow().parquet
        if result.videos:
            _write_atomic(
                self.parts / "_videos" / f"part-{result.part}.jsonl",
                "".join(json.dumps(doc) + "\n" for doc in result.videos).encode(),
            )
        table = _arrow().Table.from_pylist(result.rows, schema=self.schema)
        final = self.parts / f"part-{result.part}.parquet"
        tmp = final.with_name(f".tmp-{final.name}-{os.getpid()}")
        pq.write_table(table, tmp)
        os.replace(tmp, final)

    def finish(self) -> int:
        """Merge the parts into the output file (streamed: one part in memory at a time) and the video
        summaries into theirs; returns the number of rows. Each input's rows come from one part only."""
        pa, pq = _arrow(), _arrow().parquet
        seen: set[str] = set()
        rows = 0
        tmp = self.path.with_name(f".tmp-{self.path.name}")
        writer = _Writer(self.format, tmp, self.schema)
        try:
            for part in self.part_files():
                if self.format == "dir":  # the parts are the output: only count them
                    table = pq.read_table(part, columns=["source"])
                else:
                    table = pq.read_table(part, schema=self.schema)
                sources = table.column("source").to_pylist()
                if seen.intersection(sources):  # never twice, whatever happened to the parts
                    table = table.filter(pa.array([k not in seen for k in sources]))
                seen.update(sources)
                rows += table.num_rows
                writer.write(table)
        finally:
            writer.close()
        if self.format != "dir":
            os.replace(tmp, self.path)
        self._write_summaries(seen)
        return rows

    def _write_summaries(self, keys: set[str]) -> None:
        docs: dict[str, str] = {}
        for part in sorted((self.parts / "_videos").glob("part-*.jsonl")):
            for line in part.read_text(encoding="utf-8").splitlines():
                source = json.loads(line).get("source")
                if source in keys and source not in docs:
                    docs[source] = line
        if docs or self.summaries_path.exists():
            _write_atomic(self.summaries_path, "".join(v + "\n" for v in docs.values()).encode())


class _Writer:
    """The merged output, written part by part: Parquet, CSV, or nothing (a folder's parts are the output)."""

    def __init__(self, format: str, path: Path, schema: Any):
        self.format, self.path, self.schema = format, path, schema
        self.parquet = _arrow().parquet.ParquetWriter(path, schema) if format == "parquet" else None
        self.fh = open(path, "w", newline="", encoding="utf-8") if format == "csv" else None
        if self.fh is not None:
            self.csv = csv.writer(self.fh)
            self.csv.writerow(schema.names)

    def write(self, table: Any) -> None:
        if self.parquet is not None:
            self.parquet.write_table(table)
        elif self.fh is not None:
            for row in table.to_pylist():
                self.csv.writerow(["" if row[n] is None else _cell(row[n]) for n in self.schema.names])

    def close(self) -> None:
        if self.parquet is not None:
            self.parquet.close()
        if self.fh is not None:
            self.fh.close()


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".tmp-{path.name}-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return json.dumps(value)
    if isinstance(value, bool):
        return int(value)
    return value
