"""Self-care suggestions from the rules in rules.yaml (one data file to review), applied to trends.

    book = load_rules()                                   # the packaged rules.yaml, validated
    found = suggest(book, Context(today, daily_buckets, streak, effects, checkins=12, has_baseline=True))

Each suggestion says why it fired ("sadness at least 35 on 3 of the last 4 days").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from emolens.apps.journal.trends import INDEXES, Bucket, Streak, TagEffect

CHECKS = {
    "index_days": {"index", "at_least", "at_most", "days", "within"},
    "streak": {"at_least"},
    "gap": {"at_least"},
    "baseline": {"at_least"},
    "tag_effect": {"tag", "index", "at_least", "at_most", "min_checkins"},
}
KINDS = ("care", "celebrate", "nudge")
INDEX_NAMES = (*INDEXES, "valence")


class RulesError(ValueError):
    """rules.yaml is malformed; the message names the rule and the field."""


@dataclass(frozen=True)
class Rule:
    id: str
    when: Mapping[str, Any]
    title: str
    text: str
    kind: str = "care"
    priority: int = 0
    crisis: bool = False


@dataclass(frozen=True)
class RuleBook:
    rules: tuple[Rule, ...]
    disclaimer: str
    crisis: Mapping[str, Any]
    max_suggestions: int = 3


@dataclass(frozen=True)
class Suggestion:
    id: str
    kind: str
    title: str
    text: str
    because: str
    crisis: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "title": self.title,
            "text": self.text,
            "because": self.because,
            "crisis": self.crisis,
        }


@dataclass(frozen=True)
class Context:
    """What the rules look at: daily buckets (any range; rules look back from today) and the rest."""

    today: date
    days: Sequence[Bucket]
    streak: Streak
    tag_effects: Sequence[TagEffect] = ()
    checkins: int = 0
    has_baseline: bool = False
    by_day: Mapping[date, Bucket] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_day", {d.start: d for d in self.days})


def load_rules(path: str | Path | None = None) -> RuleBook:
    """The packaged rules.yaml, or another file with the same shape; checked before use."""
    text = (
        Path(path).read_text()
        if path is not None
        else resources.files("emolens.apps.journal").joinpath("rules.yaml").read_text()
    )
    data = yaml.safe_load(text)
    where = str(path or "rules.yaml")
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        raise RulesError(f"{where}: expected a mapping with a 'rules' list")
    crisis = data.get("crisis") or {}
    if not crisis.get("text") or not crisis.get("resources"):
        raise RulesError(f"{where}: the crisis block needs 'text' and 'resources'")
    if not data.get("disclaimer"):
        raise RulesError(f"{where}: a 'disclaimer' is required")
    rules, seen = [], set()
    for raw in data["rules"]:
        rule = _rule(raw, where)
        if rule.id in seen:
            raise RulesError(f"{where}: rule id {rule.id!r} appears twice")
        seen.add(rule.id)
        rules.append(rule)
    return RuleBook(tuple(rules), str(data["disclaimer"]).strip(), crisis, int(data.get("max_suggestions", 3)))


def _rule(raw: Any, where: str) -> Rule:
    if not isinstance(raw, dict) or not raw.get("id"):
        raise RulesError(f"{where}: every rule needs an 'id'")
    rid, when = raw["id"], raw.get("when") or {}
    check = when.get("check")
    if check not in CHECKS:
        raise RulesError(f"{where}: rule {rid!r}: when.check must be one of {', '.join(CHECKS)}, got {check!r}")
    unknown = set(when) - CHECKS[check] - {"check"}
    if unknown:
        raise RulesError(f"{where}: rule {rid!r}: unknown fields {sorted(unknown)} for check {check!r}")
    if "index" in CHECKS[check] and when.get("index") not in INDEX_NAMES:
        raise RulesError(f"{where}: rule {rid!r}: index must be one of {', '.join(INDEX_NAMES)}")
    if check in ("index_days", "tag_effect") and ("at_least" in when) == ("at_most" in when):
        raise RulesError(f"{where}: rule {rid!r}: give exactly one of at_least / at_most")
    if check in ("streak", "gap", "baseline") and "at_least" not in when:
        raise RulesError(f"{where}: rule {rid!r}: {check} needs at_least")
    if check == "index_days" and int(when.get("days", 1)) > int(when.get("within", when.get("days", 1))):
        raise RulesError(f"{where}: rule {rid!r}: days cannot exceed within")
    if check == "tag_effect" and not when.get("tag"):
        raise RulesError(f"{where}: rule {rid!r}: tag_effect needs a tag ('*' for any)")
    kind = raw.get("kind", "care")
    if kind not in KINDS:
        raise RulesError(f"{where}: rule {rid!r}: kind must be one of {', '.join(KINDS)}")
    if not raw.get("title") or not raw.get("text"):
        raise RulesError(f"{where}: rule {rid!r} needs a title and a text")
    return Rule(
        id=str(rid),
        when=dict(when),
        title=str(raw["title"]).strip(),
        text=str(raw["text"]).strip(),
        kind=kind,
        priority=int(raw.get("priority", 0)),
        crisis=bool(raw.get("crisis", False)),
    )


def _meets(value: float, when: Mapping[str, Any]) -> bool:
    return value >= when["at_least"] if "at_least" in when else value <= when["at_most"]


def _bound(when: Mapping[str, Any]) -> str:
    return f"at least {when['at_least']:g}" if "at_least" in when else f"at most {when['at_most']:g}"


def fired(rule: Rule, ctx: Context) -> list[tuple[str, dict[str, str]]]:
    """(why, text fields) for each way the rule holds: none, one, or one per tag for tag '*'."""
    w = rule.when
    check = w["check"]
    if check == "index_days":
        within, need = int(w.get("within", w.get("days", 1))), int(w.get("days", 1))
        window = [ctx.by_day.get(ctx.today - timedelta(days=i)) for i in range(within)]
        hits = sum(1 for b in window if b is not None and _meets(b.indexes.get(w["index"]), w))
        return [(f"{w['index']} {_bound(w)} on {hits} of the last {within} days", {})] if hits >= need else []
    if check == "streak":
        n = ctx.streak.current
        return [(f"checked in {n} days in a row", {})] if n >= w["at_least"] else []
    if check == "gap":
        last = ctx.streak.last_day
        gap = None if last is None else (ctx.today - last).days
        return [(f"the last check-in was {gap} days ago", {})] if gap is not None and gap >= w["at_least"] else []
    if check == "baseline":
        ok = not ctx.has_baseline and ctx.checkins >= w["at_least"]
        return [(f"{ctx.checkins} check-ins and no personal baseline yet", {})] if ok else []
    out = []  # tag_effect, the strongest effect first
    for effect in sorted(ctx.tag_effects, key=lambda e: -abs(e.delta.get(w["index"]))):
        if w["tag"] not in ("*", effect.tag) or min(effect.with_tag, effect.without_tag) < w.get("min_checkins", 2):
            continue
        delta = effect.delta.get(w["index"])
        if _meets(delta, w):
            out.append(
                (
                    f"{w['index']} {delta:+.0f} points on check-ins tagged {effect.tag} "
                    f"({effect.with_tag} with, {effect.without_tag} without)",
                    {"tag": effect.tag},
                )
            )
    return out


def suggest(book: RuleBook, ctx: Context) -> list[Suggestion]:
    """The suggestions that apply, most important first, at most book.max_suggestions (crisis ones always kept)."""
    found: list[tuple[int, Suggestion]] = []
    for rule in book.rules:
        for because, fields in fired(rule, ctx):
            found.append(
                (
                    rule.priority,
                    Suggestion(
                        rule.id,
                        rule.kind,
                        rule.title.format(**fields),
                        rule.text.format(**fields),
                        because,
                        rule.crisis,
                    ),
                )
            )
    found.sort(key=lambda item: -item[0])  # stable: a rule's own order (strongest tag first) is kept
    unique, seen = [], set()
    for _, s in found:
        if s.id not in seen:  # one suggestion per rule, even when several tags match
            seen.add(s.id)
            unique.append(s)
    crisis = [s for s in unique if s.crisis]
    rest = [s for s in unique if not s.crisis]
    return crisis + rest[: max(0, book.max_suggestions - len(crisis))]


def crisis_block(book: RuleBook, suggestions: Sequence[Suggestion]) -> dict[str, Any] | None:
    """The crisis text and resources when a sustained negative pattern fired, else None."""
    if not any(s.crisis for s in suggestions):
        return None
    return {
        "title": book.crisis.get("title", ""),
        "text": str(book.crisis["text"]).strip(),
        "resources": [str(r) for r in book.crisis["resources"]],
    }
