"""`emolens session analyze | list | report | purge`: customer satisfaction from the command line.

Sessions go to the same database as the web app (EMOLENS_DATA_DIR or --data-dir, file
emolens.db) under a local account (--user, default: your login name), so they show up
on the dashboard of that account. The customer rule and retention read the same
EMOLENS_SATISFACTION_* settings as the server. Nothing here imports torch or FastAPI.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from emolens.apps import accounts
from emolens.apps.satisfaction import store
from emolens.apps.satisfaction.aggregate import Group, aggregate
from emolens.apps.satisfaction.customer import CustomerRule
from emolens.apps.satisfaction.export import sessions_csv
from emolens.apps.satisfaction.recording import SessionRecorder
from emolens.apps.satisfaction.report import write_report
from emolens.apps.satisfaction.store import ServiceSession, SessionError, SessionFilter, time_bound
from emolens.apps.satisfaction.video import Scoring, save_scored_session, score_video
from emolens.cli.common import FORMATTER, CliError, account_args, database, settings, table, username
from emolens.cli.engine import analyzer as build_analyzer
from emolens.cli.engine import engine_args, friendly
from emolens.cli.progress import VideoProgress, fast_model_face_s
from emolens.cli.session_batch import add_many_args, cmd_analyze_many
from emolens.inference.stream import StreamAnalyzer, StreamOptions
from emolens.inference.video import VideoSource, frame_limit, run_video
from emolens.settings import AppSettings

EXAMPLES = """examples:
  emolens session analyze counter.mp4 --location "Main St" --agent ana
  emolens session analyze clip.mp4 --location Airport --agent ben --rule largest --roi 0.5,0,1,1 --json
  emolens session analyze --manifest sessions.csv --workers 2     # many videos: one batch job
  emolens session analyze --manifest sessions.csv --ray auto      # ... on the Ray cluster running here
  emolens session list --from 2026-03-01 --location "Main St"     # one line per session, newest first
  emolens session report --from 2026-03-01 --to 2026-03-31 --by agent --html march.html --csv march.csv
  emolens session purge --older-than 90       # what the server's retention setting does every hour

sessions are stored for the account --user (default: $EMOLENS_USER, else your login name) in
$EMOLENS_DATA_DIR/emolens.db (default ~/.local/share/emolens); numbers only, never images.
a manifest is a CSV with the header video,location,agent,started_at[,customer_ref]; each session is
stored once: a rerun skips the videos already scored."""


def add_parser(sub: argparse._SubParsersAction, name: str, help: str) -> None:
    fmt = FORMATTER
    s = sub.add_parser(name, help=help, epilog=EXAMPLES, formatter_class=fmt)
    verbs = s.add_subparsers(dest="session_command", metavar="VERB", required=True)

    a = verbs.add_parser(
        "analyze", help="score a recorded service session (a video file)", epilog=EXAMPLES, formatter_class=fmt
    )
    a.add_argument("videos", nargs="*", metavar="VIDEO", help="video file(s) of service sessions")
    add_many_args(a)
    a.add_argument("--location", help="shop, branch or counter (required without --manifest)")
    a.add_argument("--agent", help="staff member or counter label (required without --manifest)")
    a.add_argument("--customer-ref", help="your own reference (a ticket number); never a name")
    a.add_argument("--started", help="when the session took place, ISO time (default: now)")
    a.add_argument("--rule", choices=["presence", "largest"], help="who is the customer (default: presence)")
    a.add_argument("--roi", help="customer region x0,y0,x1,y1 as fractions of the frame, e.g. 0.5,0,1,1")
    a.add_argument("--staff-seconds", type=float, help="faces on screen in the first N s are staff (default: 0)")
    a.add_argument("--every", type=int, help="run the detector every N frames (default: 2)")
    a.add_argument("--smooth", type=float, help="EMA weight of the newest probabilities (default: 0.4)")
    a.add_argument("--no-save", action="store_true", help="print the result, store nothing")
    a.add_argument("--json", action="store_true", help="print the session as JSON")
    _store_args(a)
    engine_args(a, detect_size=640)
    a.set_defaults(handler=cmd_analyze, parser=a)

    ls = verbs.add_parser(
        "list", help="the sessions, newest first: when, where, who, score", epilog=EXAMPLES, formatter_class=fmt
    )
    _filter_args(ls)
    ls.add_argument("--limit", type=int, default=20, metavar="N", help="the newest N sessions (default: %(default)s)")
    ls.add_argument(
        "--json", action="store_true", help="print a JSON list (the API's session shape, without timelines)"
    )
    _store_args(ls)
    ls.set_defaults(handler=cmd_list)

    r = verbs.add_parser(
        "report", help="scores per location or agent: table, HTML report, CSV", epilog=EXAMPLES, formatter_class=fmt
    )
    _filter_args(r)
    r.add_argument("--by", choices=["location", "agent"], default="location", help="grouping (default: %(default)s)")
    r.add_argument("--html", metavar="FILE", help="write a self-contained HTML report with charts (works offline)")
    r.add_argument("--csv", metavar="FILE", help="write one row per session")
    r.add_argument("--json", action="store_true", help="print the groups as JSON")
    _store_args(r)
    r.set_defaults(handler=cmd_report)

    p = verbs.add_parser(
        "purge", help="delete sessions older than N days (every account)", epilog=EXAMPLES, formatter_class=fmt
    )
    p.add_argument(
        "--older-than",
        type=float,
        metavar="DAYS",
        help="age in days (default: EMOLENS_SATISFACTION_RETENTION_DAYS, 90)",
    )
    _store_args(p)
    p.set_defaults(handler=cmd_purge)


def _filter_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--from", dest="start", help="first day, YYYY-MM-DD (UTC)")
    p.add_argument("--to", dest="end", help="last day, YYYY-MM-DD (inclusive)")
    p.add_argument("--location", help="only this location")
    p.add_argument("--agent", help="only this agent")
    p.add_argument("--all-accounts", action="store_true", help="every account's sessions, not only --user's")


def _store_args(p: argparse.ArgumentParser) -> None:
    account_args(p, "account the sessions belong to (default: $EMOLENS_USER, else your login name)")


@friendly
def cmd_analyze(args: argparse.Namespace) -> int:
    if args.manifest or len(args.videos) > 1:
        return cmd_analyze_many(args)
    if not args.videos or not args.location or not args.agent:
        args.parser.error("give VIDEO with --location and --agent, or --manifest CSV for many sessions")
    args.video = args.videos[0]
    config = settings(
        args, satisfaction_rule=args.rule, satisfaction_roi=args.roi, satisfaction_staff_seconds=args.staff_seconds
    )
    scoring = Scoring(
        CustomerRule.from_text(
            pick=config.satisfaction_rule, roi=config.satisfaction_roi, staff_seconds=config.satisfaction_staff_seconds
        )
    )
    options = StreamOptions(every=args.every or config.video_every, alpha=args.smooth or config.live_alpha)
    try:
        started = time_bound(args.started, end=False) if args.started else None
    except SessionError as exc:
        raise CliError(f"--started: {exc}") from None
    if not Path(args.video).is_file():
        raise CliError(f"{args.video}: no such video file")
    analyzer = build_analyzer(args)

    def run(recorder: SessionRecorder) -> None:
        with VideoSource(args.video) as source:
            max_frames = frame_limit(source.info.fps, config.max_video_seconds)  # as the web's session jobs
            total = min(source.info.frame_count or max_frames, max_frames)
            stream = StreamAnalyzer(analyzer, options)
            progress = VideoProgress(
                Path(args.video).name, total, stream, options.every, fast_face_s=fast_model_face_s(analyzer)
            )
            try:
                run_video(source, stream, [recorder], max_frames=max_frames, on_progress=progress)
            finally:
                progress.close()

    analysis, _ = score_video(run, analyzer.labels, scoring)
    doc: dict[str, Any] = {"location": args.location, "agent": args.agent, **analysis.to_dict()}
    if not args.no_save:
        doc = _save(args, config, analysis, started, analyzer.model_sha256)
    print(json.dumps(doc, indent=2) if args.json else format_session(doc))
    return 0


def _save(
    args: argparse.Namespace, config: AppSettings, analysis, started: str | None, model_sha256: str
) -> dict[str, Any]:
    """The scored session stored for --user: its document, with where it went."""
    db = database(config)
    user = accounts.local_user(db, username(args), hasher=accounts.password_hasher())
    try:
        session = save_scored_session(
            db,
            user.id,
            analysis,
            location=args.location,
            agent=args.agent,
            customer_ref=args.customer_ref,
            source="cli",
            started_at=started,
            model_sha256=model_sha256,
        )
    except SessionError as exc:
        raise CliError(str(exc)) from None
    return {**session.to_dict(), "database": str(config.db_path), "user": user.username}


def format_session(doc: dict[str, Any]) -> str:
    score = "no score" if doc["score"] is None else f"score {doc['score']:g}/100"
    head = f"{doc['location']} / {doc['agent']}: {score}, confidence {doc['confidence']:.2f}"
    lines = [head, doc["explanation"]["summary"]]
    share = ", ".join(
        f"{k} {v:.0%}" for k, v in sorted(doc["explanation"]["share"].items(), key=lambda kv: -kv[1]) if v > 0
    )
    if share:
        lines.append(f"customer's face time: {share}")
    for word, key, none in (
        ("best", "positive_moments", "none at or above +0.15"),
        ("worst", "negative_moments", "none at or below -0.15"),
    ):
        moments = doc["explanation"][key]
        lines.append(
            f"{word} moments: "
            + (
                ", ".join(f"{m['time']} {m['emotion']} ({m['valence']:+.2f})" for m in moments)
                or f"{none} (valence of a 1 s window)"
            )
        )
    roles = ", ".join(f"#{t['id']} {t['role']}" for t in doc["customer"]["tracks"])
    if roles:
        lines.append(f"faces: {roles}")
    if "id" in doc:
        lines.append(f"stored as session {doc['id']} of {doc['user']} in {doc['database']}")
    return "\n".join(lines)


def _sessions(args: argparse.Namespace, config: AppSettings) -> list[ServiceSession]:
    """The sessions the filters name (dates checked first: a bad date is a bad date, whatever the account)."""
    for flag, value, end in (("--from", args.start, False), ("--to", args.end, True)):
        if value:
            try:
                time_bound(value, end=end)
            except SessionError as exc:
                raise CliError(f"{flag}: {exc}") from None
    db = database(config)
    user_id = None
    if not args.all_accounts:
        user = accounts.find_user(db, username(args))
        if user is None:
            raise CliError(f"no account {username(args)!r} in {config.db_path}: pass --user NAME or --all-accounts")
        user_id = user.id
    filters = SessionFilter(
        location=args.location, agent=args.agent, start=args.start, end=args.end, limit=getattr(args, "limit", None)
    )
    return store.list_sessions(db, user_id, filters)


def cmd_list(args: argparse.Namespace) -> int:
    if args.limit < 1:
        raise CliError("--limit must be at least 1")
    config = settings(args)
    sessions = _sessions(args, config)
    if args.json:
        print(json.dumps([s.to_dict(full=False) for s in sessions], indent=2))
    else:
        print(format_sessions(sessions) if sessions else f"no sessions in {config.db_path} match")
    return 0


def format_sessions(sessions: Sequence[ServiceSession]) -> str:
    rows = [("id", "started (UTC)", "location", "agent", "length", "score", "conf", "note")]
    for s in sessions:
        rows.append(
            (
                s.id[:12],
                s.started_at.replace("T", " ").rstrip("Z")[:16],
                s.location,
                s.agent,
                "-" if s.duration is None else f"{s.duration:.0f} s",
                "-" if s.score is None else f"{s.score:g}",
                "-" if s.confidence is None else f"{s.confidence:.2f}",
                s.reason or s.error or ("" if s.status == "done" else s.status),
            )
        )
    return table(rows)


def cmd_report(args: argparse.Namespace) -> int:
    sessions = _sessions(args, settings(args))
    groups = aggregate(sessions, args.by)
    if args.html:
        path = write_report(args.html, sessions, by=args.by, start=args.start, end=args.end)
        print(f"wrote {path} ({len(sessions)} sessions)", file=sys.stderr)
    if args.csv:
        Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
        Path(args.csv).write_text(sessions_csv(sessions), encoding="utf-8")
        print(f"wrote {args.csv}", file=sys.stderr)
    print(json.dumps([g.to_dict() for g in groups], indent=2) if args.json else format_groups(groups, args.by))
    return 0


def format_groups(groups: Sequence[Group], by: str) -> str:
    if not groups:
        return "no sessions in this period"
    rows = [(by, "sessions", "scored", "mean", "weighted", "trend/week")]
    fmt = lambda v, spec="{:.1f}": "-" if v is None else spec.format(v)  # noqa: E731
    for g in groups:
        rows.append(
            (
                g.key,
                str(g.sessions),
                str(g.scored),
                fmt(g.mean_score),
                fmt(g.weighted_score),
                fmt(g.slope_per_week, "{:+.1f}"),
            )
        )
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    return "\n".join(
        "  ".join(v.ljust(w) if c == 0 else v.rjust(w) for c, (v, w) in enumerate(zip(r, widths))) for r in rows
    )


def cmd_purge(args: argparse.Namespace) -> int:
    config = settings(args)
    days = config.satisfaction_retention_days if args.older_than is None else args.older_than
    if days <= 0:
        raise CliError("--older-than must be a positive number of days")
    deleted = store.purge_older_than(database(config), days)
    print(f"deleted {deleted} session(s) older than {days:g} days from {config.db_path}")
    return 0
