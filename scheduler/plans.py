"""The action plan agreed on the call: who will do what by when, with help from whom.

Pure on purpose (no I/O): the booking service validates with it, the calendar event and the
invite describe the plan with it, and the database stores its structured form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from scheduler.errors import InvalidPlan

STEP_TYPES: dict[str, str] = {
    "send_value": "Send value",
    "meeting": "Meeting",
    "talk_with_colleagues": "Talk with colleagues",
    "send_questions": "Send questions",
    "request_signup": "Request sign-up",
    "send_proposal": "Send proposal",
    "proposal_review": "Proposal review",
    "send_paperwork": "Send paperwork",
    "other": "Other",
}

ROLES = ("rep", "prospect")
MAX_WHAT_LENGTH = 500
STEP_KEYS = ("who", "what", "type", "due", "help_from")

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?")
_LINE_BREAKS = re.compile(r"[ \t]*(\r\n|\r|\n)[ \t]*")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# Embedding and isolate controls reorder what a reader sees ("invoice" shown for "eciovni"):
# refused in names and plan text, so no invite can disguise itself.
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
BIDI_MESSAGE = "contains bidirectional control characters (U+202A–U+202E, U+2066–U+2069)"
HORIZON = timedelta(days=2 * 366)  # "by when" further out than this is a typo, not a plan
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_FALLBACK_NAMES = {"rep": "Rep", "prospect": "Prospect"}


@dataclass(frozen=True)
class Step:
    """One commitment. `who` and `help_from` hold emails or the roles "rep" / "prospect";
    a datetime `due` keeps the offset it was given in, so it reads back as typed."""

    who: str
    what: str
    type: str
    due: date | datetime
    help_from: tuple[str, ...] = ()
    done_at: datetime | None = None


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]


# Validation

def parse_plan(data: Mapping[str, Any] | None, *, today: date, max_steps: int = 5) -> Plan:
    """Turn the JSON-ish plan into a Plan; the first problem found (in input order) raises
    InvalidPlan naming its field, e.g. "plan.steps.1.due"."""
    if data is None:
        raise InvalidPlan("add at least one step", field="plan.steps")
    if not isinstance(data, Mapping):
        raise InvalidPlan("the plan must be an object with a list of steps", field="plan")
    rows = data.get("steps")
    if rows is None or (isinstance(rows, Sequence) and not isinstance(rows, str | bytes)
                        and len(rows) == 0):
        raise InvalidPlan("add at least one step", field="plan.steps")
    if not isinstance(rows, Sequence) or isinstance(rows, str | bytes):
        raise InvalidPlan("steps must be a list", field="plan.steps")
    if len(rows) > max_steps:
        raise InvalidPlan(f"a plan has at most {max_steps} steps, not {len(rows)}",
                          field="plan.steps")
    return Plan(steps=tuple(_parse_step(row, f"plan.steps.{index}", today=today)
                            for index, row in enumerate(rows)))


def _parse_step(row: object, path: str, *, today: date) -> Step:
    if not isinstance(row, Mapping):
        raise InvalidPlan("each step must be an object", field=path)
    who = _person(_required_text(row, "who", path), f"{path}.who")
    what = _what(_required_text(row, "what", path), f"{path}.what")
    step_type = _step_type(row.get("type"), f"{path}.type")
    due = _due(row.get("due"), f"{path}.due", today=today)
    help_from = _help_from(row.get("help_from"), f"{path}.help_from")
    unknown = sorted(str(key) for key in row if key not in STEP_KEYS)
    if unknown:
        raise InvalidPlan(f"unknown step field {unknown[0]!r}; use {', '.join(STEP_KEYS)}",
                          field=f"{path}.{unknown[0]}")
    return Step(who=who, what=what, type=step_type, due=due, help_from=help_from)


def _required_text(row: Mapping[str, Any], key: str, path: str) -> str:
    value = row.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidPlan(f"{key} is required", field=f"{path}.{key}")
    if not isinstance(value, str):
        raise InvalidPlan(f"{key} must be text", field=f"{path}.{key}")
    return value.strip()


def _person(value: str, field: str) -> str:
    lowered = value.strip().lower()
    if BIDI_CONTROLS.search(lowered):
        raise InvalidPlan(BIDI_MESSAGE, field=field)
    if lowered in ROLES or _looks_like_email(lowered):
        return lowered
    raise InvalidPlan(f"{value!r} is not an email address, 'rep' or 'prospect'", field=field)


def _looks_like_email(value: str) -> bool:
    """Loose on purpose: the address only has to be plausible here; mail delivery is the
    real test, and rejecting an unusual but valid address mid-call costs the meeting."""
    local, at, domain = value.partition("@")
    return (bool(at) and bool(local) and "@" not in domain and "." in domain
            and not domain.startswith(".") and not domain.endswith(".")
            and not any(character.isspace() for character in value))


def _what(value: str, field: str) -> str:
    # One line per step in the event description, so line breaks become spaces.
    text = _LINE_BREAKS.sub(" ", value)
    if _CONTROL.search(text):
        raise InvalidPlan("what contains control characters", field=field)
    if BIDI_CONTROLS.search(text):
        raise InvalidPlan(f"what {BIDI_MESSAGE}", field=field)
    if len(text) > MAX_WHAT_LENGTH:
        raise InvalidPlan(f"what is {len(text)} characters long; keep it to "
                          f"{MAX_WHAT_LENGTH}", field=field)
    return text


def _step_type(value: object, field: str) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        return "other"
    if isinstance(value, str) and value.strip() in STEP_TYPES:
        return value.strip()
    raise InvalidPlan(f"unknown step type {value!r}; use one of {', '.join(STEP_TYPES)}",
                      field=field)


def _due(value: object, field: str, *, today: date) -> date | datetime:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidPlan("due is required", field=field)
    due = _due_value(value, field)
    day = due.date() if isinstance(due, datetime) else due
    if day < today:
        raise InvalidPlan(f"due {day.isoformat()} is in the past", field=field)
    if day > today + HORIZON:
        raise InvalidPlan(f"due {day.isoformat()} is more than two years ahead; plan steps "
                          f"are due by {(today + HORIZON).isoformat()} at the latest",
                          field=field)
    return due


def _due_value(value: object, field: str) -> date | datetime:
    if isinstance(value, datetime):
        return _fixed_offset(value, field)
    if isinstance(value, date):
        return value
    if not isinstance(value, str):
        raise InvalidPlan("due must be a date (2026-11-27) or a date and time with offset "
                          "(2026-11-27T15:00:00+01:00)", field=field)
    text = value.strip().upper().replace(" ", "T", 1)
    try:
        if _DATE.fullmatch(text):
            return date.fromisoformat(text)
        if _DATETIME.fullmatch(text):
            return _fixed_offset(datetime.fromisoformat(text), field)
    except ValueError:
        raise InvalidPlan(f"due {value!r} is not a real date", field=field) from None
    raise InvalidPlan(f"due {value!r} is not a date (2026-11-27) or a date and time with "
                      "offset (2026-11-27T15:00:00+01:00)", field=field)


def _fixed_offset(value: datetime, field: str) -> datetime:
    """Aware datetimes only, and with a plain offset so the stored form reads back equal."""
    offset = value.utcoffset()
    if offset is None:
        raise InvalidPlan("due has a time but no offset; add one, e.g. "
                          "2026-11-27T15:00:00+01:00", field=field)
    return value.replace(tzinfo=timezone(offset))


def _help_from(value: object, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, Sequence) or isinstance(value, str | bytes):
        raise InvalidPlan("help_from must be a list of email addresses", field=field)
    people: list[str] = []
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item.strip():
            raise InvalidPlan("each helper must be an email address, 'rep' or 'prospect'",
                              field=f"{field}.{index}")
        person = _person(item, f"{field}.{index}")
        if person not in people:
            people.append(person)
    return tuple(people)


# Text for the calendar event

def describe_plan(plan: Plan, names: Mapping[str, str]) -> str:
    """One numbered sentence per step, for the event description everyone reads."""
    return "\n".join(f"{number}. {sentence}"
                     for number, sentence in enumerate(step_sentences(plan, names), start=1))


def step_sentences(plan: Plan, names: Mapping[str, str]) -> list[str]:
    """Each step as the invite words it, for pages and exports that list steps apart."""
    return [_describe_step(step, names) for step in plan.steps]


def _describe_step(step: Step, names: Mapping[str, str]) -> str:
    text = f"{_name(step.who, names)} will {as_predicate(step.what)} by {due_label(step.due)}"
    if step.help_from:
        text += ", with help from " + join_names([_name(p, names) for p in step.help_from])
    if step.done_at is not None:
        text += " (done)"
    return text


# Words that open a step ("Send questions", "Review the draft"): lower-cased after "will".
# Any other capitalised first word is taken for a name the rep typed ("Acme", "Priya").
_COMMON_FIRST_WORDS = frozenset(
    word.lower() for label in STEP_TYPES.values() for word in label.split()[:1]) | frozenset(
    ("ask", "book", "bring", "call", "check", "confirm", "decide", "demo", "draft", "email",
     "fill", "find", "finish", "get", "give", "have", "introduce", "invite", "join", "look",
     "make", "meet", "plan", "prepare", "present", "read", "reply", "request", "review",
     "run", "schedule", "set", "share", "show", "sign", "speak", "start", "submit", "test",
     "try", "update", "visit", "write"))


def as_predicate(what: str) -> str:
    """The step's text as it reads after "will": "Send questions" -> "send questions",
    while a name or an acronym keeps its capitals ("SOC 2 report", "Acme signs")."""
    first, _, rest = what.partition(" ")
    if first.lower() in _COMMON_FIRST_WORDS and first[:1].isupper() and first[1:].islower():
        return f"{first.lower()} {rest}".rstrip() if rest else first.lower()
    return what


def _name(key: str, names: Mapping[str, str]) -> str:
    name = names.get(key) or _FALLBACK_NAMES.get(key, key)
    return " ".join(name.split())


def join_names(names: Sequence[str]) -> str:
    """"Lee", "Lee and Sam", "A, B and C"."""
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"


def due_label(due: date | datetime) -> str:
    """"Fri 27 Nov", or "Fri 27 Nov 15:00 UTC+01:00" in the due's own offset. The names are
    spelled out here so the process locale cannot change them."""
    label = f"{_DAYS[due.weekday()]} {due.day} {_MONTHS[due.month - 1]}"
    if isinstance(due, datetime):
        label += f" {due:%H:%M} {_offset_label(due.utcoffset())}"
    return label


def _offset_label(offset: timedelta | None) -> str:
    if not offset:
        return "UTC"
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


# Structured form (database rows, event properties)

def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """JSON-ready form; plan_from_dict reads it back to an equal plan."""
    return {"steps": [{"who": step.who, "what": step.what, "type": step.type,
                       "due": step.due.isoformat(), "help_from": list(step.help_from),
                       "done_at": step.done_at.isoformat() if step.done_at else None}
                      for step in plan.steps]}


def plan_from_dict(data: Mapping[str, Any]) -> Plan:
    """Read back what plan_to_dict wrote (trusted storage, not user input: no date rules)."""
    steps = []
    for index, row in enumerate(data.get("steps") or ()):
        try:
            due_text, done_text = row["due"], row.get("done_at")
            steps.append(Step(
                who=row["who"], what=row["what"], type=row.get("type") or "other",
                due=(datetime.fromisoformat(due_text) if "T" in due_text
                     else date.fromisoformat(due_text)),
                help_from=tuple(row.get("help_from") or ()),
                done_at=datetime.fromisoformat(done_text) if done_text else None))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise InvalidPlan(f"stored step is malformed ({exc})",
                              field=f"plan.steps.{index}") from None
    return Plan(steps=tuple(steps))
