"""The tournament director's corrections: edit a score, void and unvoid an entry, add a score that
was never recorded; and a player giving up an open entry. Each is audit-logged with the value
before and after, once per player concerned."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pss_core.audit import Actor
from pss_core.contract import GameResult, GameStart
from pss_core.errors import InvalidInput, Refused
from pss_core.models import (
    AuditLog,
    Entry,
    EntryStatus,
    EventPlayer,
    Score,
    Token,
    Tournament,
    TournamentMachine,
    TournamentStatus,
    utcnow,
)
from pss_core.plugins import Pss
from pss_core.services import best_scores, games, locking, occupants
from pss_core.services.occupants import Occupant
from pss_core.services.tickets import audit_for_player, usable_tokens


def _owner_of_entry(session: Session, entry: Entry) -> Occupant:
    occ = occupants.from_row(session, entry.player_id, entry.team_id)
    assert occ is not None
    return occ


def _lock_entry_owner(session: Session, entry: Entry) -> tuple[Occupant, Tournament]:
    occ = _owner_of_entry(session, entry)
    occupants.lock_occupants(session, [occ])
    tournament = locking.lock_tournaments(session, [entry.tournament_id])[0]
    if tournament.status == TournamentStatus.FINALIZED:
        raise Refused(
            f"{tournament.name} is finalized and its results are frozen; reopen it "
            "to change a score.",
            code="tournament_finalized",
        )
    session.refresh(entry)
    return occ, tournament


def _correction_audit(
    session: Session,
    actor: Actor,
    action: str,
    occ: Occupant,
    tournament: Tournament,
    subject: Any,
    now: datetime,
    **details: Any,
) -> None:
    for pid in occ.person_ids:
        audit_for_player(
            session,
            actor,
            action,
            event_id=tournament.event_id,
            player_id=pid,
            subject=subject,
            now=now,
            tournament=tournament.slug,
            team_id=occ.team_id,
            **details,
        )


def edit_score(
    session: Session,
    pss: Pss,
    *,
    score: Score,
    new_score: int | str,
    actor: Actor,
    reason: str = "",
    now: datetime | None = None,
) -> Score:
    """Change a recorded score (a typo). Audit-logged with the score before and after."""
    value = games.parse_score(new_score)
    now = now or utcnow()
    entry = score.entry
    occupants.require_director(session, entry.event_id, actor.user_id, actor.player_id)
    occ, tournament = _lock_entry_owner(session, entry)
    session.refresh(score)
    before = score.score
    if before == value:
        return score
    score.score = value
    best_scores.refresh_entry(session, score.entry_id)
    games.bump_version(tournament)
    session.flush()
    _correction_audit(
        session,
        actor,
        "score.edit",
        occ,
        tournament,
        score,
        now,
        entry_id=entry.id,
        machine_id=score.tournament_machine_id,
        before=before,
        after=value,
        reason=reason,
    )
    return score


def _entry_in_play(session: Session, entry: Entry) -> bool:
    return (
        session.scalar(
            select(TournamentMachine.id)
            .join(Token, TournamentMachine.token_id == Token.id)
            .where(Token.entry_id == entry.id)
        )
        is not None
    )


def void_entry(
    session: Session,
    pss: Pss,
    *,
    entry: Entry,
    actor: Actor,
    reason: str = "",
    now: datetime | None = None,
) -> Entry:
    """Void a whole entry: its scores stop counting (tokens stay as they were: used or voided)."""
    now = now or utcnow()
    occupants.require_director(session, entry.event_id, actor.user_id, actor.player_id)
    occ, tournament = _lock_entry_owner(session, entry)
    if entry.status == EntryStatus.VOIDED:
        raise Refused("This entry is already voided.", code="already_voided")
    if _entry_in_play(session, entry):
        raise Refused(
            "A game of this entry is being played; record or take it off first.",
            code="entry_in_play",
        )
    before = entry.status.value
    consumed = _void_rest_of_entry(session, pss, entry, occ, tournament, now)
    best_scores.refresh_entry(session, entry.id)
    games.bump_version(tournament)
    session.flush()
    _correction_audit(
        session,
        actor,
        "entry.void",
        occ,
        tournament,
        entry,
        now,
        before=before,
        after=entry.status.value,
        reason=reason,
        tokens_voided=consumed,
    )
    return entry


def abandon_entry(
    session: Session, pss: Pss, *, entry: Entry, actor: Actor, now: datetime | None = None
) -> Entry:
    """A player gives up their open entry before finishing it (the player themself, or staff for
    them): the games it has left are used up and its scores never count."""
    now = now or utcnow()
    occ, tournament = _lock_entry_owner(session, entry)
    occupants.require_self_or_staff(actor.player_id, occ)
    if entry.status != EntryStatus.OPEN:
        raise Refused(
            "Only an entry that is still being played can be given up.", code="entry_not_open"
        )
    if _entry_in_play(session, entry):
        raise Refused(
            "A game of this entry is being played; finish it first.", code="entry_in_play"
        )
    consumed = _void_rest_of_entry(session, pss, entry, occ, tournament, now)
    games.bump_version(tournament)
    session.flush()
    _correction_audit(
        session,
        actor,
        "entry.abandon",
        occ,
        tournament,
        entry,
        now,
        before=EntryStatus.OPEN.value,
        after=entry.status.value,
        tokens_voided=consumed,
    )
    return entry


def _void_rest_of_entry(
    session: Session, pss: Pss, entry: Entry, occ: Occupant, tournament: Tournament, now: datetime
) -> list[int]:
    """Void the entry; if it was still open, the tokens of its unplayed games are used up too
    (marked voided at the entry's void time, so an unvoid can give them back)."""
    was_open = entry.status == EntryStatus.OPEN
    entry.status = EntryStatus.VOIDED
    entry.voided_at = now
    if not was_open:
        return []
    left = entry.games_allowed - _games_ended(session, entry)
    if left <= 0:
        return []
    team_id = occ.team.id if occ.team is not None else None
    tokens = usable_tokens(
        session,
        pss,
        tournament,
        player_id=None if team_id else occ.player.id,
        team_id=team_id,
        limit=left,
    )
    for token in tokens:
        token.voided_at = now
        token.entry_id = entry.id
    return [t.id for t in tokens]


def _games_ended(session: Session, entry: Entry) -> int:
    return int(
        session.scalar(
            select(func.count(Token.id)).where(
                Token.entry_id == entry.id,
                Token.used_at.is_not(None) | Token.voided_at.is_not(None),
            )
        )
        or 0
    )


def unvoid_entry(
    session: Session,
    pss: Pss,
    *,
    entry: Entry,
    actor: Actor,
    reason: str = "",
    now: datetime | None = None,
) -> Entry:
    """Undo a void: the entry counts again (complete once all its games are played, else open)."""
    now = now or utcnow()
    occupants.require_director(session, entry.event_id, actor.user_id, actor.player_id)
    occ, tournament = _lock_entry_owner(session, entry)
    if entry.status != EntryStatus.VOIDED:
        raise Refused("This entry is not voided.", code="not_voided")
    if not entry.scores:
        raise Refused(
            "This entry has no scores to bring back; add the missing score instead.",
            code="entry_has_no_scores",
        )
    # Give back the unplayed games that voiding an open entry used up.
    for token in session.scalars(
        select(Token).where(
            Token.entry_id == entry.id,
            Token.voided_at == entry.voided_at,
            ~Token.id.in_(select(Score.token_id).where(Score.token_id.is_not(None))),
        )
    ):
        token.voided_at = None
        token.entry_id = None
    session.flush()
    if _games_ended(session, entry) >= entry.games_allowed:
        entry.status = EntryStatus.COMPLETE
        entry.completed_at = entry.completed_at or now
    else:
        other = session.scalar(
            select(Entry.id).where(
                Entry.tournament_id == entry.tournament_id,
                Entry.id != entry.id,
                Entry.status == EntryStatus.OPEN,
                (Entry.team_id == entry.team_id)
                if entry.team_id is not None
                else (Entry.player_id == entry.player_id),
            )
        )
        if other is not None:
            raise Refused(
                f"{occ.name} has another entry open; finish or void it first.",
                code="another_entry_open",
            )
        entry.status = EntryStatus.OPEN
    entry.voided_at = None
    best_scores.refresh_entry(session, entry.id)
    games.bump_version(tournament)
    session.flush()
    _correction_audit(
        session,
        actor,
        "entry.unvoid",
        occ,
        tournament,
        entry,
        now,
        before=EntryStatus.VOIDED.value,
        after=entry.status.value,
        reason=reason,
    )
    return entry


def add_missing_score(
    session: Session,
    pss: Pss,
    *,
    machine: TournamentMachine,
    player: EventPlayer,
    score: int | str,
    actor: Actor,
    entry: Entry | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> Score:
    """Add a score that was played but never recorded. It uses one of the player's (or team's)
    tokens, as the game would have; ``entry`` names the entry it belongs to (else the format's
    choice: a new HERB entry, the open PAPA-style entry). Format start rules are not re-checked,
    but an entry holds at most one score per machine and no more games than it allows."""
    value = games.parse_score(score)
    now = now or utcnow()
    tournament = machine.tournament
    occupants.require_director(session, tournament.event_id, actor.user_id, actor.player_id)
    occ = occupants.resolve(session, pss, tournament, player)
    occupants.lock_occupants(session, [occ])
    locking.lock_tournaments(session, [tournament.id])
    tokens = usable_tokens(
        session, pss, tournament, player_id=occ.player_id, team_id=occ.team_id, limit=1
    )
    if not tokens:
        raise Refused(
            f"{occ.name} has no unused ticket for {tournament.name} to put this "
            "score on; sell or comp one first.",
            code="no_tokens",
        )
    token = tokens[0]
    fmt, options = pss.format_for(tournament)
    if entry is None:
        entry = fmt.entry_for_game(
            session,
            GameStart(
                tournament=tournament,
                machine=machine,
                player=occ.player,
                team=occ.team,
                token=token,
            ),
            options,
        )
        if entry.id is None:
            session.add(entry)
            session.flush()
    elif entry.tournament_id != tournament.id or (entry.player_id, entry.team_id) != (
        occ.player_id,
        occ.team_id,
    ):
        raise InvalidInput(
            f"That entry is not {occ.name}'s in {tournament.name}.", code="wrong_entry"
        )
    if entry.status == EntryStatus.VOIDED:
        raise Refused("That entry is voided; unvoid it first.", code="entry_voided")
    linked = int(
        session.scalar(select(func.count(Token.id)).where(Token.entry_id == entry.id)) or 0
    )
    if linked >= entry.games_allowed:
        raise Refused("That entry has all its games already.", code="entry_full")
    if session.scalar(
        select(Score.id).where(
            Score.entry_id == entry.id, Score.tournament_machine_id == machine.id
        )
    ):
        raise Refused(
            f"That entry already has a score on {machine.machine.name}; edit it instead.",
            code="score_exists",
        )
    token.entry_id = entry.id
    token.used_at = now
    row = Score(
        event_id=machine.event_id,
        entry_id=entry.id,
        tournament_machine_id=machine.id,
        token_id=token.id,
        score=value,
        recorded_at=now,
        recorded_by_id=games.event_user_id(session, machine.event_id, actor),
    )
    session.add(row)
    session.flush()
    finished = GameResult(
        tournament=tournament, machine=machine, entry=entry, token=token, score=value
    )
    fmt.game_finished(session, finished, options)
    pss.hook.pss_game_finished(session=session, result=finished)
    best_scores.refresh_entry(session, entry.id)
    games.bump_version(tournament)
    session.flush()
    _correction_audit(
        session,
        actor,
        "score.add_missing",
        occ,
        tournament,
        row,
        now,
        entry_id=entry.id,
        machine=machine.machine.name,
        token_id=token.id,
        before=None,
        after=value,
        reason=reason,
    )
    return row


def reverse_misconduct(
    session: Session,
    pss: Pss,
    *,
    token: Token,
    actor: Actor,
    reason: str = "",
    now: datetime | None = None,
) -> Token:
    """Undo a misconduct void: the offence is taken off the player (each member of a team) and
    the game's token is given back unused, as if the game had never started; when the game
    should have stood, the tournament director then adds its score with
    :func:`add_missing_score`. An entry the void completed is open again; a HERB entry made for
    that game alone goes away with it."""
    now = now or utcnow()
    tournament = session.get(Tournament, token.tournament_id) if token.tournament_id else None
    event_id = token.event_id
    occupants.require_director(session, event_id, actor.user_id, actor.player_id)
    occ = occupants.from_row(session, token.player_id, token.team_id)
    assert occ is not None
    occupants.lock_occupants(session, [occ])
    entry = session.get(Entry, token.entry_id) if token.entry_id is not None else None
    if tournament is None and entry is not None:
        tournament = session.get(Tournament, entry.tournament_id)
    assert tournament is not None
    locking.lock_tournaments(session, [tournament.id])
    session.refresh(token)
    voided = session.scalar(
        select(AuditLog.id).where(
            AuditLog.event_id == event_id,
            AuditLog.action == "game.misconduct",
            AuditLog.details["token_id"].as_integer() == token.id,
        )
    )
    if token.voided_at is None or voided is None:
        raise Refused("That game was not voided for misconduct.", code="not_misconduct")
    # A one-game entry (HERB) is voided with its game; an entry voided apart from it is not.
    voided_with_game = (
        entry is not None
        and entry.status == EntryStatus.VOIDED
        and entry.voided_at in (None, token.voided_at)
    )
    if entry is not None and entry.status == EntryStatus.VOIDED and not voided_with_game:
        raise Refused("That game's entry is voided; unvoid it first.", code="entry_voided")
    token.voided_at = None
    token.entry_id = None
    session.flush()
    entry_after: str | None = None
    if entry is not None:
        if (
            not entry.scores
            and _games_ended(session, entry) == 0
            and not _entry_in_play(session, entry)
            and session.scalar(select(func.count(Token.id)).where(Token.entry_id == entry.id)) == 0
        ):
            session.delete(entry)
            entry_after = "dropped"
        elif (
            entry.status in (EntryStatus.COMPLETE, EntryStatus.VOIDED)
            and _games_ended(session, entry) < entry.games_allowed
        ):
            entry.voided_at = None
            entry.status = EntryStatus.OPEN
            entry.completed_at = None
            entry_after = entry.status.value
    for pid in occ.person_ids:
        person = session.get(EventPlayer, pid)
        assert person is not None
        person.offences = max(0, (person.offences or 0) - 1)
    best_scores.refresh_entry(session, entry.id if entry is not None else None)
    games.bump_version(tournament)
    session.flush()
    _correction_audit(
        session,
        actor,
        "game.misconduct_reversed",
        occ,
        tournament,
        token,
        now,
        token_id=token.id,
        entry_id=entry.id if entry is not None else None,
        before="voided for misconduct",
        after="unused",
        entry_after=entry_after,
        reason=reason,
    )
    return token
