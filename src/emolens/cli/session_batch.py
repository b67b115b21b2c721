"""`emolens session analyze` with many videos or a --manifest: one batch job (here or on Ray) into the store.

The sessions land in the same database and account as a single `session analyze`, so the dashboard
shows them; each is written once (emolens.batch.sessions), and a rerun skips those already scored.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from emolens.apps.satisfaction.customer import CustomerRule
from emolens.apps.satisfaction.store import SessionError, time_bound
from emolens.batch.inputs import Item
from emolens.batch.on_ray import LOCAL
from emolens.batch.sessions import ManifestError, SessionSink, read_manifest, session_item
from emolens.cli.batch import run_with_progress, work_spec
from emolens.cli.common import CliError, database, local_account, settings


def add_many_args(a: argparse.ArgumentParser) -> None:
    """--manifest, --ray and --workers of `session analyze` (many sessions in one batch job)."""
    a.add_argument("--manifest", metavar="CSV", help="many sessions: video,location,agent,started_at per row")
    a.add_argument("--ray", nargs="?", const=LOCAL, metavar="ADDRESS", help="many sessions: run on Ray (see batch)")
    a.add_argument("--workers", type=int, help="many sessions: worker processes, or Ray actors (see batch)")


def _listed(args: argparse.Namespace) -> list[tuple[str, dict[str, str]]]:
    """(video, its session's fields) from --manifest, or from the VIDEOs and the flags."""
    if args.manifest:
        if args.videos:
            raise CliError("give either --manifest or VIDEO files, not both")
        try:
            return read_manifest(args.manifest)
        except ManifestError as exc:
            raise CliError(str(exc)) from None
    if not args.location or not args.agent:
        raise CliError("--location and --agent are required with VIDEO files (or list them in a --manifest)")
    meta = {"location": args.location, "agent": args.agent}
    if args.started:
        try:
            meta["started_at"] = time_bound(args.started, end=False)
        except SessionError as exc:
            raise CliError(f"--started: {exc}") from None
    if args.customer_ref:
        meta["customer_ref"] = args.customer_ref
    return [(video, dict(meta)) for video in args.videos]


def cmd_analyze_many(args: argparse.Namespace) -> int:
    config = settings(
        args, satisfaction_rule=args.rule, satisfaction_roi=args.roi, satisfaction_staff_seconds=args.staff_seconds
    )
    rule = {
        "pick": config.satisfaction_rule,
        "roi": config.satisfaction_roi,
        "staff_seconds": config.satisfaction_staff_seconds,
    }
    CustomerRule.from_text(**rule)  # a bad rule fails here, once, not in every worker
    listed = _listed(args)
    if args.no_save:
        raise CliError("--no-save scores one VIDEO; many sessions are always stored")
    missing = [video for video, _ in listed if not Path(video).is_file()]
    for video in missing:
        print(f"emolens session analyze: {video}: no such video file (skipped)", file=sys.stderr)
    db = database(config)
    user = local_account(db, args)
    items: dict[str, Item] = {}
    for video, meta in listed:
        if video not in missing:
            item = session_item(user.id, video, meta)
            items.setdefault(item.key, item)
    if not items:
        raise CliError("no video to analyse")
    args.detect_size = args.detect_size or None
    spec = work_spec(
        args,
        every=args.every or config.video_every,
        smooth=args.smooth or config.live_alpha,
        max_seconds=config.max_video_seconds,
        session_rule=tuple(rule.items()),
    )
    sink = SessionSink(db, user.id, list(items.values()))
    stats = run_with_progress(args, list(items.values()), spec, sink, unit="video")
    doc: dict[str, Any] = {
        **stats.to_dict(),
        "stored": [s.to_dict(full=False) for s in sink.stored],
        "failed": [{"video": item.path, "error": error} for item, error in sink.failed],
        "database": str(config.db_path),
        "user": user.username,
    }
    print(json.dumps(doc, indent=2) if args.json else format_many(doc))
    return 1 if sink.failed or missing else 0


def format_many(doc: dict[str, Any]) -> str:
    lines = [
        f"{len(doc['stored'])} session(s) scored and stored, {doc['skipped']} already stored, "
        f"{len(doc['failed'])} failed; account {doc['user']} in {doc['database']}"
    ]
    for s in doc["stored"]:
        score = "no score" if s["score"] is None else f"score {s['score']:g}"
        lines.append(f"  {s['id'][:12]}  {s['location']} / {s['agent']}  {s['started_at']}  {score}")
    lines += [f"  FAILED {f['video']}: {f['error']}" for f in doc["failed"]]
    return "\n".join(lines)
