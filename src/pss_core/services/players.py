"""Players' registrations beyond the first step: finding the same person again (in this event, and
across events by IFPA id or e-mail), editing, unregistering and merging registrations, the event's
registration questions and their answers, and players registering themselves online.

Registering at the desk goes through :func:`register` (the duplicate check and the answers), which
calls :func:`pss_core.services.setup.register_player` for the registration itself.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs
from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.orm import Session

from pss_core import audit
from pss_core.audit import Actor
from pss_core.errors import Busy, InvalidInput, NotFound, PermissionDenied, Refused
from pss_core.models import (
    AuditLog,
    Base,
    Entry,
    EntryStatus,
    Event,
    EventPlayer,
    LoginKind,
    LoginSession,
    LoginThrottle,
    Player,
    Purchase,
    QuestionKind,
    QueueSlot,
    RegistrationAnswer,
    RegistrationQuestion,
    Team,
    TeamMember,
    Token,
    Tournament,
    TournamentMachine,
    utcnow,
)
from pss_core.plugins import Pss
from pss_core.security import new_session_token, token_digest
from pss_core.services import auth, best_scores, ifpa, locking, setup
from pss_core.standings import ranking_for, score_rows

#: Self-registrations one client address may make per event in :data:`SELF_REGISTRATION_WINDOW`
#: (a family on one phone, a venue's shared address; not a script filling the event).
SELF_REGISTRATIONS_PER_ADDRESS = 5
SELF_REGISTRATION_WINDOW = timedelta(hours=1)
#: The longest free-text answer.
ANSWER_MAX_LENGTH = 1000
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# --- the same person -------------------------------------------------------------------------


def name_key(first_name: str, last_name: str = "") -> str:
    """A name as compared for "same person?": case, accents and spacing do not count
    (``José  Pérez`` is ``jose perez``)."""
    text = unicodedata.normalize("NFKD", f"{first_name} {last_name}")
    text = "".join(c for c in text if not unicodedata.combining(c))
    return " ".join(text.casefold().split())


def clean_email(email: str | None) -> str | None:
    """An e-mail address lower-cased and stripped (``None`` when empty); refused if it is not
    shaped like one."""
    value = setup.clean_text(email, "An e-mail address").lower()
    if not value:
        return None
    if len(value) > 254 or not EMAIL_RE.match(value):
        raise InvalidInput(
            f"{value[:60]!r} is not an e-mail address.", code="invalid_email", field="email"
        )
    return value


def find_global_player(
    session: Session, *, ifpa_id: int | None, email: str | None
) -> Player | None:
    """The person already known across events by ``ifpa_id``, else by ``email`` (when exactly
    one person has it and their IFPA id does not contradict ``ifpa_id``)."""
    if ifpa_id is not None:
        found = session.scalars(select(Player).where(Player.ifpa_id == ifpa_id)).first()
        if found is not None:
            return found
    if email:
        people = session.scalars(select(Player).where(Player.email == email.lower()).limit(2)).all()
        if len(people) == 1 and (ifpa_id is None or people[0].ifpa_id in (None, ifpa_id)):
            return people[0]
    return None


@attrs.frozen
class Candidate:
    """A registration that may be the person being registered, and why it looks so."""

    player: EventPlayer
    #: Some of ``name``, ``ifpa_id``, ``email``.
    reasons: tuple[str, ...]

    @property
    def strong(self) -> bool:
        """Same IFPA id or e-mail: the same person, not just the same name."""
        return any(r != "name" for r in self.reasons)

    def as_dict(self) -> dict[str, Any]:
        ep = self.player
        return {"number": ep.number, "name": ep.name, "reasons": list(self.reasons)}


def possible_duplicates(
    session: Session,
    event: Event,
    first_name: str,
    last_name: str = "",
    *,
    ifpa_id: int | None = None,
    email: str | None = None,
    exclude_id: int | None = None,
) -> list[Candidate]:
    """Registrations in ``event`` with the same name (case and accents aside), IFPA id or
    e-mail as the one about to be made, by player number."""
    key = name_key(first_name, last_name)
    email = (email or "").strip().lower() or None
    rows = session.execute(
        select(EventPlayer, Player)
        .join(Player, Player.id == EventPlayer.player_id)
        .where(EventPlayer.event_id == event.id)
        .order_by(EventPlayer.number)
    ).all()
    found = []
    for ep, person in rows:
        if ep.id == exclude_id:
            continue
        reasons = []
        if key and name_key(person.first_name, person.last_name) == key:
            reasons.append("name")
        if ifpa_id is not None and person.ifpa_id == ifpa_id:
            reasons.append("ifpa_id")
        if email and (person.email or "").lower() == email:
            reasons.append("email")
        if reasons:
            found.append(Candidate(ep, tuple(reasons)))
    return found


class PossibleDuplicate(Refused):
    """The person may be registered already: ask "same person?" before making a second one."""

    default_code = "possible_duplicate"


def _duplicate_error(candidates: list[Candidate]) -> PossibleDuplicate:
    names = ", ".join(f"#{c.player.number} {c.player.name}" for c in candidates[:5])
    return PossibleDuplicate(
        f"Already registered: {names}. Open that registration if it is the same person, or "
        "confirm that this is somebody else to register a second one.",
        candidates=[c.as_dict() for c in candidates],
    )


# --- registering (the desk) ------------------------------------------------------------------


def register(
    session: Session,
    event: Event,
    first_name: str,
    last_name: str = "",
    *,
    number: int | None = None,
    pin: str | None = None,
    ifpa_id: int | None = None,
    ifpa_rank: int | None = None,
    email: str | None = None,
    answers: Mapping[Any, Any] | None = None,
    confirm_new: bool = False,
    actor: Actor = audit.SYSTEM,
) -> tuple[EventPlayer, str]:
    """Register a player with their answers to the event's questions; returns the registration
    and the PIN in clear. Someone with the same name, IFPA id or e-mail already registered is
    refused with :class:`PossibleDuplicate` (its ``candidates``) unless ``confirm_new``; a person
    known from other events by IFPA id or e-mail is reused (their name stays theirs)."""
    email = clean_email(email)
    setup.require_text(first_name, "A first name")
    candidates = possible_duplicates(
        session, event, first_name, last_name, ifpa_id=ifpa_id, email=email
    )
    if candidates and not confirm_new:
        raise _duplicate_error(candidates)
    values = check_answers(session, event, answers or {})
    person = find_global_player(session, ifpa_id=ifpa_id, email=email)
    ep, clear_pin = setup.register_player(
        session,
        event,
        first_name,
        last_name,
        number=number,
        pin=pin,
        ifpa_id=ifpa_id,
        ifpa_rank=ifpa_rank,
        email=email,
        player=person,
        actor=actor,
    )
    if person is not None:
        if person.ifpa_id is None and ifpa_id is not None:
            person.ifpa_id = ifpa_id
        if person.email is None and email is not None:
            person.email = email
        audit.record(
            session,
            actor,
            "player.known",
            event_id=event.id,
            subject=ep,
            player_id=ep.id,
            person_id=person.id,
            name=person.name,
        )
    if values:
        _store_answers(session, ep, values, actor=actor)
    return ep, clear_pin


# --- registration questions ------------------------------------------------------------------


def _question_values(
    label: str, kind: str, choices: Iterable[str], help: str
) -> tuple[str, QuestionKind, list[str], str]:
    label = setup.require_text(label, "A question")
    if len(label) > 200:
        raise InvalidInput(
            "A question is at most 200 characters.", code="invalid_field", field="label"
        )
    try:
        qkind = QuestionKind(kind)
    except ValueError:
        raise InvalidInput(
            f"A question is one of: {', '.join(k.value for k in QuestionKind)}.",
            code="invalid_field",
            field="kind",
        ) from None
    cleaned = [setup.clean_text(c, "A choice") for c in choices]
    cleaned = list(dict.fromkeys(c for c in cleaned if c))
    if qkind == QuestionKind.CHOICE and len(cleaned) < 2:
        raise InvalidInput(
            "A choice question needs at least two choices.", code="invalid_field", field="choices"
        )
    if any(len(c) > 100 for c in cleaned):
        raise InvalidInput(
            "A choice is at most 100 characters.", code="invalid_field", field="choices"
        )
    help = setup.clean_text(help, "The help text")[:500]
    return label, qkind, cleaned if qkind == QuestionKind.CHOICE else [], help


def _question_state(q: RegistrationQuestion) -> dict[str, Any]:
    return {
        "label": q.label,
        "kind": q.kind.value,
        "choices": list(q.choices or ()),
        "required": q.required,
        "active": q.active,
        "position": q.position,
        "help": q.help,
    }


def add_question(
    session: Session,
    event: Event,
    label: str,
    kind: str,
    *,
    choices: Iterable[str] = (),
    required: bool = False,
    help: str = "",
    actor: Actor = audit.SYSTEM,
) -> RegistrationQuestion:
    """A new question asked at every registration from now on, after the others."""
    label, qkind, cleaned, help = _question_values(label, kind, choices, help)
    last = (
        session.scalar(
            select(func.max(RegistrationQuestion.position)).where(
                RegistrationQuestion.event_id == event.id
            )
        )
        or 0
    )
    q = RegistrationQuestion(
        event_id=event.id,
        label=label,
        kind=qkind,
        choices=cleaned,
        required=required,
        help=help,
        position=last + 1,
        active=True,
    )
    session.add(q)
    session.flush()
    audit.record(
        session, actor, "question.add", event_id=event.id, subject=q, after=_question_state(q)
    )
    return q


def edit_question(
    session: Session,
    q: RegistrationQuestion,
    *,
    label: str,
    kind: str,
    choices: Iterable[str] = (),
    required: bool = False,
    help: str = "",
    active: bool = True,
    actor: Actor = audit.SYSTEM,
) -> RegistrationQuestion:
    """Change a question. Answers already given stay as they were; a choice taken away from a
    choice question keeps the answers that chose it."""
    before = _question_state(q)
    label, qkind, cleaned, help = _question_values(label, kind, choices, help)
    q.label, q.kind, q.choices, q.required, q.help, q.active = (
        label,
        qkind,
        cleaned,
        required,
        help,
        active,
    )
    session.flush()
    audit.record(
        session,
        actor,
        "question.edit",
        event_id=q.event_id,
        subject=q,
        before=before,
        after=_question_state(q),
    )
    return q


def move_question(
    session: Session, q: RegistrationQuestion, offset: int, *, actor: Actor = audit.SYSTEM
) -> RegistrationQuestion:
    """Move a question ``offset`` places up (negative) or down among the event's questions."""
    order = list(
        session.scalars(
            select(RegistrationQuestion)
            .where(RegistrationQuestion.event_id == q.event_id)
            .order_by(RegistrationQuestion.position, RegistrationQuestion.id)
        )
    )
    at = order.index(q)
    to = max(0, min(len(order) - 1, at + offset))
    before = [x.id for x in order]
    order.insert(to, order.pop(at))
    for position, item in enumerate(order, start=1):
        item.position = position
    session.flush()
    audit.record(
        session,
        actor,
        "question.move",
        event_id=q.event_id,
        subject=q,
        before=before,
        after=[x.id for x in order],
    )
    return q


def questions_of(
    session: Session, event: Event, *, active_only: bool = True
) -> list[RegistrationQuestion]:
    query = select(RegistrationQuestion).where(RegistrationQuestion.event_id == event.id)
    if active_only:
        query = query.where(RegistrationQuestion.active.is_(True))
    return list(
        session.scalars(query.order_by(RegistrationQuestion.position, RegistrationQuestion.id))
    )


_YES = ("yes", "y", "true", "1", "on")
_NO = ("no", "n", "false", "0", "off")


def _answer_value(q: RegistrationQuestion, raw: Any) -> str:
    """The stored text of an answer to ``q`` (empty for no answer); refused when it does not
    fit the question."""
    field = f"answer.{q.id}"
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return ""
    if isinstance(raw, list | dict):
        raise InvalidInput(f"“{q.label}”: one answer, please.", code="invalid_answer", field=field)
    if q.kind == QuestionKind.YES_NO:
        text = str(raw).strip().lower() if not isinstance(raw, bool) else ("yes" if raw else "no")
        if text in _YES:
            return "yes"
        if text in _NO:
            return "no"
        raise InvalidInput(f"“{q.label}”: answer yes or no.", code="invalid_answer", field=field)
    if q.kind == QuestionKind.NUMBER:
        text = str(raw).strip()
        if isinstance(raw, bool) or not re.fullmatch(r"-?\d{1,12}", text):
            raise InvalidInput(
                f"“{q.label}”: answer with a whole number.", code="invalid_answer", field=field
            )
        return str(int(text))
    text = setup.clean_text(str(raw), f"The answer to “{q.label}”")
    if len(text) > ANSWER_MAX_LENGTH:
        raise InvalidInput(
            f"“{q.label}”: at most {ANSWER_MAX_LENGTH} characters.",
            code="invalid_answer",
            field=field,
        )
    if q.kind == QuestionKind.CHOICE and text not in (q.choices or ()):
        raise InvalidInput(
            f"“{q.label}”: choose one of {', '.join(q.choices)}.",
            code="invalid_answer",
            field=field,
        )
    return text


def check_answers(
    session: Session, event: Event, answers: Mapping[Any, Any], *, enforce_required: bool = True
) -> dict[int, str]:
    """Answers by question id (keys may be ids or their digits) checked against the event's
    active questions; a required question left unanswered is refused (a required yes/no
    question must be answered yes: "I accept the rules")."""
    asked = {q.id: q for q in questions_of(session, event)}
    given: dict[int, Any] = {}
    for key, raw in answers.items():
        qid = int(key) if isinstance(key, int) or str(key).isdigit() else None
        if qid is None or qid not in asked:
            raise InvalidInput(
                f"There is no question {str(key)[:20]!r} in this event.", code="unknown_question"
            )
        given[qid] = raw
    values: dict[int, str] = {}
    for qid, q in asked.items():
        value = _answer_value(q, given.get(qid))
        if (
            enforce_required
            and q.required
            and (not value or (q.kind == QuestionKind.YES_NO and value != "yes"))
        ):
            must = "must be answered yes" if q.kind == QuestionKind.YES_NO else "needs an answer"
            raise InvalidInput(f"“{q.label}” {must}.", code="missing_answer", field=f"answer.{qid}")
        if qid in given:
            values[qid] = value
    return values


def answers_of(session: Session, ep: EventPlayer) -> dict[int, str]:
    """A player's answers by question id."""
    return dict(
        session.execute(
            select(RegistrationAnswer.question_id, RegistrationAnswer.value).where(
                RegistrationAnswer.event_player_id == ep.id
            )
        ).all()
    )


def _store_answers(
    session: Session, ep: EventPlayer, values: Mapping[int, str], *, actor: Actor
) -> dict[str, Any]:
    rows = {
        a.question_id: a
        for a in session.scalars(
            select(RegistrationAnswer).where(RegistrationAnswer.event_player_id == ep.id)
        )
    }
    before = {str(k): a.value for k, a in rows.items()}
    for qid, value in values.items():
        row = rows.get(qid)
        if row is None:
            if value:
                session.add(RegistrationAnswer(event_player_id=ep.id, question_id=qid, value=value))
        elif not value:
            session.delete(row)
        elif row.value != value:
            row.value, row.answered_at = value, utcnow()
    session.flush()
    after = {str(k): v for k, v in answers_of(session, ep).items()}
    if before != after:
        audit.record(
            session,
            actor,
            "player.answers",
            event_id=ep.event_id,
            subject=ep,
            player_id=ep.id,
            before=before,
            after=after,
        )
    return after


def set_answers(
    session: Session, ep: EventPlayer, answers: Mapping[Any, Any], *, actor: Actor = audit.SYSTEM
) -> dict[str, Any]:
    """Change a player's answers (the questions not given keep theirs; required ones stay
    required)."""
    event = session.get(Event, ep.event_id)
    assert event is not None
    asked = {q.id for q in questions_of(session, event)}
    merged: dict[Any, Any] = {str(k): v for k, v in answers_of(session, ep).items() if k in asked}
    merged.update({str(k): v for k, v in answers.items()})
    values = check_answers(session, event, merged)
    given = {str(k) for k in answers}
    return _store_answers(
        session, ep, {k: v for k, v in values.items() if str(k) in given}, actor=actor
    )


# --- editing ---------------------------------------------------------------------------------


def _state(ep: EventPlayer) -> dict[str, Any]:
    person = ep.player
    return {
        "number": ep.number,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "ifpa_id": person.ifpa_id,
        "ifpa_rank": ep.ifpa_rank,
        "email": person.email,
    }


def edit_player(
    session: Session,
    ep: EventPlayer,
    *,
    first_name: str,
    last_name: str = "",
    ifpa_id: int | None = None,
    ifpa_rank: int | None = None,
    email: str | None = None,
    actor: Actor = audit.SYSTEM,
) -> EventPlayer:
    """Correct a registration: the person's name, IFPA id and e-mail (theirs in every event)
    and the IFPA rank of this event. An IFPA id that belongs to someone else is refused: if
    that is the same person, merge the two registrations instead."""
    if actor.player_id is not None:
        raise PermissionDenied("Only the desk can change a registration.", code="staff_only")
    before = _state(ep)
    person = ep.player
    first = setup.require_text(first_name, "A first name")
    last = setup.clean_text(last_name, "A last name")
    if len(first) > 100 or len(last) > 100:
        raise InvalidInput("A name is at most 100 characters.", code="invalid_field")
    email = clean_email(email)
    if ifpa_rank is not None and ifpa_rank < 1:
        raise InvalidInput("An IFPA rank starts at 1.", code="invalid_field", field="ifpa_rank")
    if ifpa_id is not None and ifpa_id != person.ifpa_id:
        other = session.scalars(select(Player).where(Player.ifpa_id == ifpa_id)).first()
        if other is not None:
            here = session.scalars(
                select(EventPlayer).where(
                    EventPlayer.event_id == ep.event_id, EventPlayer.player_id == other.id
                )
            ).first()
            hint = (
                f" They are #{here.number} here: if that is the same person, merge the two "
                "registrations instead."
                if here is not None
                else ""
            )
            raise Refused(
                f"IFPA number {ifpa_id} belongs to {other.name}.{hint}",
                code="ifpa_taken",
                number=here.number if here else None,
            )
    person.first_name, person.last_name, person.ifpa_id, person.email = (
        first,
        last,
        ifpa_id,
        email,
    )
    ep.ifpa_rank = ifpa_rank
    session.flush()
    if ifpa_id is not None and ifpa_id != before["ifpa_id"] and ifpa_rank is None:
        # A number entered after the look-up found several (or none): the rank is looked up.
        ifpa.request_lookup(session, ep.event, ep)
    after = _state(ep)
    if after != before:
        audit.record(
            session,
            actor,
            "player.edit",
            event_id=ep.event_id,
            subject=ep,
            player_id=ep.id,
            number=ep.number,
            before=before,
            after=after,
        )
    return ep


# --- who points at a registration ------------------------------------------------------------


def _referring_columns() -> list[tuple[Table, str]]:
    """Every column of every table that names an event player (tables added by plugins and
    later schema versions included), except the registration itself."""
    found = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            for fk in column.foreign_keys:
                if fk.column.table.name == EventPlayer.__tablename__ and fk.column.name == "id":
                    found.append((table, column.name))
    return found


def _count(session: Session, table: Table, column: str, ep_id: int) -> int:
    return (
        session.scalar(select(func.count()).select_from(table).where(table.c[column] == ep_id)) or 0
    )


# --- unregistering ---------------------------------------------------------------------------

#: Rows that go with a registration when it is unregistered (it never played or bought).
_GOES_WITH_IT = {
    ("registration_answers", "event_player_id"),
    ("login_sessions", "player_id"),
    ("notifications", "player_id"),
}
#: Rows kept (history) with the player's id cleared.
_KEPT_ANONYMOUS = {("audit_log", "player_id"), ("audit_log", "actor_player_id")}


def unregister(session: Session, ep: EventPlayer, *, actor: Actor = audit.SYSTEM) -> dict[str, Any]:
    """Take back a registration made by mistake. Only for a player with no games and no tickets
    (paid, held or refunded) and on no team: refused otherwise with what to do instead. Their
    logins end; the history keeps what happened, without the registration. Returns what the
    registration was."""
    if actor.player_id is not None:
        raise PermissionDenied(
            "Only the tournament director can unregister a player.", code="staff_only"
        )
    locking.lock_players(session, [ep.id])
    who = f"{ep.name} (#{ep.number})"
    if session.scalar(select(TournamentMachine.id).where(TournamentMachine.player_id == ep.id)):
        raise Refused(
            f"{who} is playing right now; they have games, so they stay registered.",
            code="has_games",
        )
    if session.scalar(select(Entry.id).where(Entry.player_id == ep.id).limit(1)):
        raise Refused(
            f"{who} has played; their games count, so they stay registered. If they "
            "are registered twice, merge the two registrations instead.",
            code="has_games",
        )
    unused = (
        session.scalar(
            select(func.count(Token.id)).where(
                Token.player_id == ep.id,
                Token.paid_at.is_not(None),
                Token.used_at.is_(None),
                Token.voided_at.is_(None),
                Token.refunded_at.is_(None),
            )
        )
        or 0
    )
    if unused:
        raise Refused(
            f"{who} has {unused} paid games left; refund them first, or merge this "
            "registration into their other one.",
            code="has_paid_tickets",
        )
    if session.scalar(
        select(Purchase.id).where(Purchase.player_id == ep.id).limit(1)
    ) or session.scalar(select(Token.id).where(Token.player_id == ep.id).limit(1)):
        raise Refused(
            f"{who} has bought tickets before; the sales stay on record, so the "
            "registration stays. Merge it into their other one if they have two.",
            code="has_purchases",
        )
    if session.scalar(select(QueueSlot.id).where(QueueSlot.player_id == ep.id)):
        raise Refused(f"{who} is waiting in a queue; take them out of it first.", code="queued")
    team = session.scalar(
        select(Team.name)
        .join(TeamMember, TeamMember.team_id == Team.id)
        .where(TeamMember.event_player_id == ep.id)
    )
    if team is not None:
        raise Refused(f"{who} is on team {team}; take them off the team first.", code="on_team")
    for table, column in _referring_columns():
        key = (table.name, column)
        if key in _GOES_WITH_IT or key in _KEPT_ANONYMOUS:
            continue
        if _count(session, table, column, ep.id):
            raise Refused(
                f"{who} has records in {table.name.replace('_', ' ')} that must be "
                "kept, so the registration stays.",
                code="has_records",
            )
    before = {**_state(ep), "answers": {str(k): v for k, v in answers_of(session, ep).items()}}
    ended = auth.revoke_sessions(session, event_id=ep.event_id, player_id=ep.id)
    for table, column in _referring_columns():
        key = (table.name, column)
        if key in _GOES_WITH_IT:
            session.execute(delete(table).where(table.c[column] == ep.id))
        elif key in _KEPT_ANONYMOUS:
            session.execute(update(table).where(table.c[column] == ep.id).values({column: None}))
    event_id, ep_id = ep.event_id, ep.id
    session.delete(ep)
    session.flush()
    audit.record(
        session,
        actor,
        "player.unregister",
        event_id=event_id,
        subject=None,
        registration_id=ep_id,
        before=before,
        logins_ended=ended,
    )
    return before


# --- merging ---------------------------------------------------------------------------------

#: Rows the merge handles itself rather than simply pointing them at the surviving registration.
_MERGED_BY_HAND = {
    ("registration_answers", "event_player_id"),
    ("team_members", "event_player_id"),
    ("event_players", "id"),
}


def _busy(session: Session, ep: EventPlayer) -> str | None:
    machine = session.scalars(
        select(TournamentMachine).where(TournamentMachine.player_id == ep.id)
    ).first()
    if machine is not None:
        return f"playing {machine.machine.name}"
    slot = session.scalars(select(QueueSlot).where(QueueSlot.player_id == ep.id)).first()
    if slot is not None:
        tm = session.get(TournamentMachine, slot.tournament_machine_id)
        return f"waiting for {tm.machine.name if tm else 'a machine'}"
    return None


def _team_of(session: Session, ep: EventPlayer) -> TeamMember | None:
    return session.scalars(select(TeamMember).where(TeamMember.event_player_id == ep.id)).first()


def merge(
    session: Session,
    pss: Pss,
    keep: EventPlayer,
    other: EventPlayer,
    *,
    actor: Actor = audit.SYSTEM,
) -> dict[str, Any]:
    """Make ``other`` part of ``keep``: two registrations of one person become ``keep`` (its
    number and PIN). Everything of ``other`` moves over: tickets and purchases, entries and
    scores, a game in progress or a queue place, a team place, answers (``keep``'s win),
    notifications and history; its logins end and its number is free again.

    Refused when both are on a machine or in a queue at once, when they are on two different
    teams, when both have an unfinished entry in one tournament, and when the merged player
    would break a format's rules (more entries than it allows, a machine replayed where that is
    not allowed). Returns what was moved."""
    if actor.player_id is not None:
        raise PermissionDenied(
            "Only the tournament director can merge registrations.", code="staff_only"
        )
    if keep.event_id != other.event_id:
        raise InvalidInput("Both registrations must be in this event.", code="wrong_event")
    if keep.id == other.id:
        raise InvalidInput("Choose two different registrations to merge.", code="same_player")
    keep_team, other_team = _team_of(session, keep), _team_of(session, other)
    locking.lock_teams(session, [m.team_id for m in (keep_team, other_team) if m is not None])
    locking.lock_players(session, [keep.id, other.id])
    keep_team, other_team = _team_of(session, keep), _team_of(session, other)
    a, b = f"#{keep.number} {keep.name}", f"#{other.number} {other.name}"
    keep_busy, other_busy = _busy(session, keep), _busy(session, other)
    if keep_busy and other_busy:
        raise Refused(
            f"{a} is {keep_busy} and {b} is {other_busy}; a player is in one place "
            "at a time. Merge when one of them is done.",
            code="merge_both_busy",
        )
    if keep_team is not None and other_team is not None and keep_team.team_id != other_team.team_id:
        names = {
            t.id: t.name
            for t in session.scalars(
                select(Team).where(Team.id.in_([keep_team.team_id, other_team.team_id]))
            )
        }
        raise Refused(
            f"{a} is on team {names[keep_team.team_id]} and {b} on team "
            f"{names[other_team.team_id]}; a player is on one team. Take one off "
            "their team first.",
            code="merge_two_teams",
        )
    both_open = session.scalars(
        select(Tournament).where(
            Tournament.id.in_(
                select(Entry.tournament_id).where(
                    Entry.player_id == keep.id, Entry.status == EntryStatus.OPEN
                )
            ),
            Tournament.id.in_(
                select(Entry.tournament_id).where(
                    Entry.player_id == other.id, Entry.status == EntryStatus.OPEN
                )
            ),
        )
    ).first()
    if both_open is not None:
        raise Refused(
            f"{a} and {b} both have an unfinished entry in {both_open.name}; finish "
            "or void one of them first.",
            code="merge_open_entries",
        )
    touched = set(session.scalars(select(Entry.tournament_id).where(Entry.player_id == other.id)))
    touched |= {
        t
        for t in session.scalars(select(Token.tournament_id).where(Token.player_id == other.id))
        if t is not None
    }
    before = {"kept": _state(keep), "merged": {**_state(other), "registration_id": other.id}}

    # Moved in a savepoint: a format that refuses the result undoes the whole merge.
    with session.begin_nested():
        ended = auth.revoke_sessions(session, event_id=other.event_id, player_id=other.id)
        moved: dict[str, int] = {}
        # Answers: the surviving registration's own answers win, the other's fill the gaps.
        mine = set(answers_of(session, keep))
        for row in session.scalars(
            select(RegistrationAnswer).where(RegistrationAnswer.event_player_id == other.id)
        ):
            if row.question_id in mine:
                session.delete(row)
            else:
                row.event_player_id = keep.id
                moved["registration_answers"] = moved.get("registration_answers", 0) + 1
        if other_team is not None:
            if keep_team is not None:
                session.delete(other_team)
            else:
                other_team.event_player_id = keep.id
                moved["team_members"] = 1
        session.flush()
        for table, column in _referring_columns():
            if (table.name, column) in _MERGED_BY_HAND:
                continue
            count = _count(session, table, column, other.id)
            if count:
                session.execute(
                    update(table).where(table.c[column] == other.id).values({column: keep.id})
                )
                moved[f"{table.name}.{column}"] = count
        keep.offences += other.offences
        if keep.ifpa_rank is None:
            keep.ifpa_rank = other.ifpa_rank
        for t in session.scalars(select(Tournament).where(Tournament.id.in_(touched))):
            t.version += 1
        best_scores.rebuild(session, touched)
        session.expire_all()
        _check_formats(session, pss, keep, touched, a, b)

    person, other_person = keep.player, other.player
    other_id, other_number = other.id, other.number
    session.delete(other)
    session.flush()
    if other_person.id != person.id:
        _merge_people(session, person, other_person)
    audit.record(
        session,
        actor,
        "player.merge",
        event_id=keep.event_id,
        subject=keep,
        player_id=keep.id,
        number=keep.number,
        merged_number=other_number,
        merged_registration_id=other_id,
        before=before,
        after=_state(keep),
        moved=moved,
        logins_ended=ended,
    )
    return {"kept": keep.number, "merged": other_number, "moved": moved}


def _check_formats(
    session: Session, pss: Pss, keep: EventPlayer, tournament_ids: set[int], a: str, b: str
) -> None:
    """Refuse the merge if a tournament's format does not accept the merged player's scores."""
    for t in session.scalars(select(Tournament).where(Tournament.id.in_(tournament_ids))):
        try:
            spec = pss.formats[t.format]
        except NotFound:
            continue  # not installed: nothing here can say what its rules are
        options = spec.resolve_options(t.format_options or {})
        try:
            spec.format.standings_from_rows(score_rows(session, t), options, ranking_for(pss))
        except InvalidInput as exc:
            why = re.sub(rf"\b{keep.id}\b", keep.name, re.sub(r"^Line \d+: ", "", exc.message))
            raise Refused(
                f"{a} and {b} together would break the rules of {t.name}: {why}",
                code="merge_breaks_format",
                tournament=t.slug,
            ) from None


def _merge_people(session: Session, person: Player, other: Player) -> None:
    """The global person of the merged registration: if it has no other registration left, it
    was the same person all along, so its IFPA id and e-mail go to ``person`` (where missing)
    and it is removed."""
    if session.scalar(select(EventPlayer.id).where(EventPlayer.player_id == other.id).limit(1)):
        return
    ifpa, email = other.ifpa_id, other.email
    session.delete(other)
    session.flush()
    if person.ifpa_id is None and ifpa is not None:
        person.ifpa_id = ifpa
    if person.email is None and email is not None:
        person.email = email
    session.flush()


# --- self-registration -----------------------------------------------------------------------


def self_registration_open(event: Event, now: datetime | None = None) -> bool:
    now = now or utcnow()
    closes = event.self_registration_closes_at
    return bool(event.self_registration) and (closes is None or now < closes)


def set_self_registration(
    session: Session,
    event: Event,
    *,
    enabled: bool,
    closes_at: datetime | None = None,
    choose_number: bool = False,
    email_required: bool = False,
    actor: Actor = audit.SYSTEM,
) -> Event:
    """The event's self-registration settings (off by default)."""

    def state() -> dict[str, Any]:
        return {
            "enabled": event.self_registration,
            "closes_at": event.self_registration_closes_at,
            "choose_number": event.self_registration_choose_number,
            "email_required": event.self_registration_email_required,
        }

    before = state()
    event.self_registration = enabled
    event.self_registration_closes_at = closes_at
    event.self_registration_choose_number = choose_number
    event.self_registration_email_required = email_required
    session.flush()
    audit.record(
        session,
        actor,
        "event.self_registration",
        event_id=event.id,
        subject=event,
        before=before,
        after=state(),
    )
    return event


def _throttle_self_registration(
    session: Session, event: Event, address: str, now: datetime
) -> None:
    """Count a self-registration from ``address``; refused (Busy) past the hourly limit. The
    caller holds the event's lock, so two requests cannot both take the last one."""
    key = f"self-registration:{address}"[:200]
    row = session.scalars(
        select(LoginThrottle).where(LoginThrottle.event_id == event.id, LoginThrottle.key == key)
    ).first()
    if row is None:
        row = LoginThrottle(event_id=event.id, key=key, failures=0, window_started_at=now)
        session.add(row)
    elif row.window_started_at + SELF_REGISTRATION_WINDOW <= now:
        row.failures, row.window_started_at = 0, now
    if row.failures >= SELF_REGISTRATIONS_PER_ADDRESS:
        wait = row.window_started_at + SELF_REGISTRATION_WINDOW - now
        minutes = max(1, int(wait.total_seconds() // 60) + 1)
        raise Busy(
            f"Too many registrations from this connection; try again in {minutes} "
            "minutes or register at the desk.",
            code="too_many_registrations",
            retry_after=int(wait.total_seconds()) + 1,
        )
    row.failures += 1
    session.flush()


def self_register(
    session: Session,
    event: Event,
    first_name: str,
    last_name: str = "",
    *,
    email: str | None = None,
    ifpa_id: int | None = None,
    number: int | None = None,
    answers: Mapping[Any, Any] | None = None,
    confirm_new: bool = False,
    address: str = "unknown",
    now: datetime | None = None,
) -> tuple[EventPlayer, str, str]:
    """A player registers themselves online; returns the registration, the PIN in clear (shown
    once) and a login session token for them. Refused when the event does not take
    self-registrations (or no longer does), past the per-address limit, for a number not free
    (or chosen where the event does not let players choose), when the IFPA id or e-mail is
    registered already (the desk gives a lost PIN anew), and for a name already registered
    unless ``confirm_new``."""
    now = now or utcnow()
    if not self_registration_open(event, now):
        raise Refused(
            f"{event.name} does not take registrations online; register at the desk.",
            code="self_registration_closed",
        )
    locking.lock_rows(session, Event, [event.id])
    email = clean_email(email)
    if email is None and event.self_registration_email_required:
        raise InvalidInput("An e-mail address is required.", code="missing_field", field="email")
    if number is not None and not event.self_registration_choose_number:
        raise InvalidInput(
            "Numbers are given out in order here; leave the number empty.",
            code="number_not_chosen",
            field="number",
        )
    setup.require_text(first_name, "A first name")
    candidates = possible_duplicates(
        session, event, first_name, last_name, ifpa_id=ifpa_id, email=email
    )
    strong = [c for c in candidates if c.strong]
    if strong:
        found = strong[0].player
        raise Refused(
            f"You are registered already, as #{found.number}. If you lost your PIN, "
            "the desk gives you a new one.",
            code="already_registered",
            number=found.number,
        )
    if candidates and not confirm_new:
        raise _duplicate_error(candidates)
    check_answers(session, event, answers or {})
    _throttle_self_registration(session, event, address, now)
    who = setup.clean_text(f"{first_name} {last_name}", "A name")[:150]
    ep, pin = register(
        session,
        event,
        first_name,
        last_name,
        number=number,
        ifpa_id=ifpa_id,
        email=email,
        answers=answers,
        confirm_new=True,
        actor=Actor(f"{who} (online)"),
    )
    me = Actor(f"{ep.name} (#{ep.number})", player_id=ep.id)
    audit.record(
        session,
        me,
        "player.self_register",
        event_id=event.id,
        subject=ep,
        player_id=ep.id,
        number=ep.number,
        address=address,
    )
    token = start_player_session(session, ep, now=now, address=address)
    return ep, pin, token


def start_player_session(
    session: Session, ep: EventPlayer, *, now: datetime | None = None, address: str = "unknown"
) -> str:
    """Log a player who just registered themselves in (they have just been shown their PIN);
    returns the session token."""
    now = now or utcnow()
    token = new_session_token()
    row = LoginSession(
        token_hash=token_digest(token),
        kind=LoginKind.PLAYER,
        event_id=ep.event_id,
        player_id=ep.id,
        created_at=now,
        expires_at=now + auth.SESSION_LIFETIME[LoginKind.PLAYER],
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        Actor(f"{ep.name} (#{ep.number})", player_id=ep.id),
        "login",
        event_id=ep.event_id,
        subject=row,
        player_id=ep.id,
        kind="player",
        address=address,
        via="self_registration",
    )
    return token


# --- export ----------------------------------------------------------------------------------


def registration_rows(session: Session, event: Event) -> tuple[list[str], list[list[Any]]]:
    """The event's registrations with their answers (every question, also deactivated ones),
    for a spreadsheet: a header and one row per player, by number."""
    qs = questions_of(session, event, active_only=False)
    header = [
        "number",
        "first_name",
        "last_name",
        "ifpa_id",
        "ifpa_rank",
        "email",
        "registered_at",
        "registered_online",
        *[q.label for q in qs],
    ]
    answers: dict[int, dict[int, str]] = {}
    for ep_id, qid, value in session.execute(
        select(
            RegistrationAnswer.event_player_id,
            RegistrationAnswer.question_id,
            RegistrationAnswer.value,
        )
        .join(EventPlayer, EventPlayer.id == RegistrationAnswer.event_player_id)
        .where(EventPlayer.event_id == event.id)
    ):
        answers.setdefault(ep_id, {})[qid] = value
    online = set(
        session.scalars(
            select(AuditLog.player_id).where(
                AuditLog.event_id == event.id, AuditLog.action == "player.self_register"
            )
        )
    )
    rows = []
    for ep, person in session.execute(
        select(EventPlayer, Player)
        .join(Player, Player.id == EventPlayer.player_id)
        .where(EventPlayer.event_id == event.id)
        .order_by(EventPlayer.number)
    ).all():
        mine = answers.get(ep.id, {})
        rows.append(
            [
                ep.number,
                person.first_name,
                person.last_name,
                person.ifpa_id,
                ep.ifpa_rank,
                person.email,
                ep.created_at.isoformat(),
                "yes" if ep.id in online else "no",
                *[mine.get(q.id, "") for q in qs],
            ]
        )
    return header, rows
