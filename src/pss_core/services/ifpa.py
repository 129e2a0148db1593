"""IFPA numbers and WPPR ranks looked up when players are added to an event.

Where the event's owner has set an IFPA API key, every registration (at the desk, online, or by
any other way a player joins the event) defers a look-up in the registration's own transaction;
it runs after the commit, so the registration never waits for the IFPA nor fails with it:

- a player who gave their IFPA number gets that player's current WPPR rank;
- otherwise the IFPA is searched for the player's name: exactly one IFPA player of that name (case
  and accents aside) gives the IFPA number and rank; several, or none, store nothing and say so
  to the desk ("2 IFPA players named …; enter the number");
- when the IFPA does not answer, the look-up stays pending and the minutely pass of ``pss worker``
  tries it again, later and later (:func:`retry_delay`), until :data:`MAX_ATTEMPTS`.

A look-up only fills what is empty: an IFPA number or rank the desk entered is never
overwritten. The states, in ``EventPlayer.ifpa_lookup``: ``pending``, ``found``, ``several``,
``none``, ``taken`` (the number found belongs to another person known to pss) and ``failed``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import attrs
from sqlalchemy import select
from sqlalchemy.orm import Session

from pss_core import audit
from pss_core.audit import Actor
from pss_core.errors import InvalidInput
from pss_core.ifpa import IfpaClient, IfpaPlayer, IfpaUnavailable, comparable_name
from pss_core.jobs import defer
from pss_core.jobs.registry import Runtime, session_for, task
from pss_core.models import Event, EventPlayer, Player, utcnow
from pss_core.services import locking

LOOKUP_TASK = "pss.ifpa.lookup"
RETRY_TASK = "pss.ifpa.retry_due"

PENDING = "pending"
FOUND = "found"
SEVERAL = "several"
NONE = "none"
TAKEN = "taken"
FAILED = "failed"
STATES = (PENDING, FOUND, SEVERAL, NONE, TAKEN, FAILED)

#: Tries before a look-up is given up (the desk enters the number by hand then).
MAX_ATTEMPTS = 12
#: A pending look-up whose first run was lost is picked up by the retry pass after this.
FIRST_TRY_GRACE = timedelta(minutes=5)
#: Look-ups one retry pass makes at most (the rest wait for the next minute).
RETRY_BATCH = 50

ACTOR = Actor("IFPA look-up")

#: Makes the client for an event's key (tests may point it elsewhere; the environment does too).
ClientFactory = Callable[[str], IfpaClient]


def retry_delay(attempts: int) -> timedelta:
    """How long after its ``attempts``-th failure a look-up is tried again: 1, 2, 4 … minutes,
    at most an hour."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


# --- the event's key --------------------------------------------------------------------------


def key_set(event: Event) -> bool:
    return bool(event.ifpa_api_key)


def set_api_key(
    session: Session,
    event: Event,
    *,
    api_key: str | None = None,
    clear: bool = False,
    actor: Actor = audit.SYSTEM,
) -> bool:
    """Set (or with ``clear`` remove) the event's IFPA API key; a blank key keeps the current one.
    The audit row says that it changed, never the key. Returns whether a key is set."""
    if clear:
        event.ifpa_api_key = None
    else:
        key = (api_key or "").strip()
        if not key:
            return key_set(event)
        if len(key) > 255 or any(c.isspace() or not c.isprintable() for c in key):
            raise InvalidInput(
                "That does not look like an IFPA API key (one word, at most 255 characters).",
                code="invalid_ifpa_key",
                field="api_key",
            )
        event.ifpa_api_key = key
    session.flush()
    audit.record(session, actor, "event.ifpa_key", event_id=event.id, subject=event, cleared=clear)
    return key_set(event)


# --- asking for a look-up (in the registration's transaction) ----------------------------------


def request_lookup(
    session: Session, event: Event, ep: EventPlayer, *, now: datetime | None = None
) -> bool:
    """Defer a look-up of ``ep`` if its event has an IFPA key and something is missing (the IFPA
    number or the rank). Returns whether one was deferred."""
    if not key_set(event):
        return False
    if ep.player.ifpa_id is not None and ep.ifpa_rank is not None:
        return False
    now = now or utcnow()
    ep.ifpa_lookup = PENDING
    ep.ifpa_lookup_note = "Looking up the IFPA number and rank."
    ep.ifpa_lookup_attempts = 0
    ep.ifpa_lookup_due_at = now + FIRST_TRY_GRACE
    session.flush()
    defer(session, LOOKUP_TASK, event_player_id=ep.id)
    return True


def lookup_state(ep: EventPlayer) -> dict[str, Any] | None:
    """What the desk sees of the look-up, or ``None`` where none was made."""
    if ep.ifpa_lookup is None:
        return None
    return {
        "state": ep.ifpa_lookup,
        "note": ep.ifpa_lookup_note,
        "attempts": ep.ifpa_lookup_attempts,
        "next_try_at": ep.ifpa_lookup_due_at if ep.ifpa_lookup == PENDING else None,
    }


# --- the look-up itself (after the commit) -----------------------------------------------------


@attrs.frozen
class _Outcome:
    state: str
    note: str
    ifpa_id: int | None = None
    rank: int | None = None


def _ask(client: IfpaClient, given_id: int | None, name: str) -> _Outcome:
    """What the IFPA says of the player (raises :class:`IfpaUnavailable`)."""
    if given_id is not None:
        found = client.player(given_id)
        if found is None:
            return _Outcome(NONE, f"The IFPA has no player number {given_id}; check the number.")
        return _found(found, given_id)
    wanted = comparable_name(name)
    same = [p for p in client.search(name) if comparable_name(p.name) == wanted]
    if not same:
        return _Outcome(
            NONE, f"No IFPA player is named {name}; enter the IFPA number if they have one."
        )
    if len(same) > 1:
        numbers = ", ".join(f"#{p.player_id}" for p in same[:5])
        return _Outcome(
            SEVERAL, f"{len(same)} IFPA players are named {name} ({numbers}); enter the number."
        )
    # The search's own rank is not always there: the player's record has the current one.
    detail = client.player(same[0].player_id) or same[0]
    return _found(detail, same[0].player_id)


def _found(player: IfpaPlayer, ifpa_id: int) -> _Outcome:
    rank = f"WPPR rank {player.rank}" if player.rank else "not ranked"
    return _Outcome(FOUND, f"IFPA #{ifpa_id} {player.name}, {rank}.", ifpa_id, player.rank)


def lookup(
    session: Session,
    event_player_id: int,
    *,
    client_for: ClientFactory = IfpaClient,
    now: datetime | None = None,
) -> str:
    """Look one registration up and store what was found; returns the outcome (a state, or
    ``skipped`` when there was nothing to do). Commits: the IFPA is asked outside any lock, and
    what it said is written only if the registration is still as it was."""
    now = now or utcnow()
    ep = session.get(EventPlayer, event_player_id)
    if ep is None or ep.ifpa_lookup != PENDING:
        return "skipped"
    event = session.get(Event, ep.event_id)
    key = event.ifpa_api_key if event is not None else None
    given_id, name = ep.player.ifpa_id, ep.player.name
    session.commit()  # nothing is held while the IFPA is asked
    if not key:
        outcome = _Outcome(NONE, "The event has no IFPA API key any more.")
    else:
        try:
            outcome = _ask(client_for(key), given_id, name)
        except IfpaUnavailable as error:
            outcome = _Outcome(FAILED, str(error))
    rows = locking.lock_players(session, [event_player_id])
    ep = rows[0] if rows else None
    if ep is None or ep.ifpa_lookup != PENDING:
        session.rollback()
        return "skipped"
    session.refresh(ep.player)
    if ep.player.ifpa_id != given_id:  # the desk entered a number meanwhile: theirs stands
        session.rollback()
        return request_again(session, event_player_id, now=now)
    result = _store(session, ep, outcome, now)
    session.commit()
    return result


def request_again(session: Session, event_player_id: int, *, now: datetime) -> str:
    """Make a look-up due now (the registration changed while the IFPA was asked)."""
    ep = session.get(EventPlayer, event_player_id)
    if ep is not None and ep.ifpa_lookup == PENDING:
        ep.ifpa_lookup_due_at = now
        session.commit()
    return "skipped"


def _store(session: Session, ep: EventPlayer, outcome: _Outcome, now: datetime) -> str:
    ep.ifpa_lookup_attempts += 1
    if outcome.state == FAILED:
        if ep.ifpa_lookup_attempts >= MAX_ATTEMPTS:
            ep.ifpa_lookup = FAILED
            ep.ifpa_lookup_due_at = None
            ep.ifpa_lookup_note = (
                f"No answer from the IFPA after {ep.ifpa_lookup_attempts} tries ({outcome.note}); "
                "enter the IFPA number and rank by hand."
            )
            return FAILED
        ep.ifpa_lookup_due_at = now + retry_delay(ep.ifpa_lookup_attempts)
        ep.ifpa_lookup_note = f"Not looked up yet: {outcome.note}. It is tried again soon."
        return "retry"
    ep.ifpa_lookup_due_at = None
    state, note = outcome.state, outcome.note
    stored: dict[str, Any] = {}
    person = ep.player
    if state == FOUND and outcome.ifpa_id is not None and person.ifpa_id is None:
        other = session.scalars(
            select(Player).where(Player.ifpa_id == outcome.ifpa_id, Player.id != person.id)
        ).first()
        if other is not None:
            state = TAKEN
            note = (
                f"The IFPA's {outcome.note[:-1]} is known to pss as {other.name}; if that is "
                "the same person, merge them, else enter the number."
            )
        else:
            person.ifpa_id = stored["ifpa_id"] = outcome.ifpa_id
    if state == FOUND and outcome.rank is not None and ep.ifpa_rank is None:
        ep.ifpa_rank = stored["ifpa_rank"] = outcome.rank
    ep.ifpa_lookup, ep.ifpa_lookup_note = state, note[:300]
    session.flush()
    audit.record(
        session,
        ACTOR,
        "player.ifpa_lookup",
        event_id=ep.event_id,
        subject=ep,
        player_id=ep.id,
        state=state,
        attempts=ep.ifpa_lookup_attempts,
        **stored,
    )
    return state


def due(session: Session, *, now: datetime | None = None, limit: int = RETRY_BATCH) -> list[int]:
    """Pending look-ups whose next try is due, oldest first."""
    now = now or utcnow()
    return list(
        session.scalars(
            select(EventPlayer.id)
            .where(EventPlayer.ifpa_lookup == PENDING, EventPlayer.ifpa_lookup_due_at <= now)
            .order_by(EventPlayer.ifpa_lookup_due_at, EventPlayer.id)
            .limit(limit)
        )
    )


# --- the tasks --------------------------------------------------------------------------------


@task(LOOKUP_TASK)
def lookup_task(runtime: Runtime, event_player_id: int) -> dict[str, int]:
    """Look up one registration's IFPA number and rank (right after it committed)."""
    with session_for(runtime) as session:
        return {lookup(session, event_player_id): 1}


@task(RETRY_TASK, cron="* * * * *", lock="pss.ifpa.retry")
def retry_due_lookups(runtime: Runtime, now: str | None = None) -> dict[str, int]:
    """Try again every look-up the IFPA did not answer and whose next try is due."""
    when = datetime.fromisoformat(now) if now else None
    outcomes: dict[str, int] = {}
    with session_for(runtime) as session:
        for ep_id in due(session, now=when):
            outcome = lookup(session, ep_id, now=when)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes
