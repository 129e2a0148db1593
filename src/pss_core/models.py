"""The pss schema: one set of tables for every event, each event-owned row scoped by ``event_id``.

Everything the database can enforce (uniqueness, foreign keys, checks, partial indexes) it does;
services add the rules that need more than one row to decide.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    and_,
    or_,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (pss never stores a naive time)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always returned timezone-aware in UTC, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("pss stores only timezone-aware times")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Stored as value strings with a CHECK constraint: SQLite and PostgreSQL enforce the same set.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=24,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class Role(enum.StrEnum):
    """What an event user may do in one event."""

    TOURNAMENT_DIRECTOR = "td"
    DESK = "desk"
    SCOREKEEPER = "scorekeeper"


class MachineStatus(enum.StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"  # DOWN for repair: nobody new starts, scores still count
    REMOVED = "removed"  # pulled from the bank: gone from everything but results history


class TournamentStatus(enum.StrEnum):
    """Where a tournament (or a metatournament's ticket sales) is in its lifecycle; changed only
    through :mod:`pss_core.lifecycle`. A cancelled tournament is a draft whose tickets were
    refunded (its ``cancelled_at`` says when); ``cancelled`` is kept only so rows written before
    the lifecycle existed stay valid (migration 0007 turns them into such drafts)."""

    DRAFT = "draft"
    ACTIVE = "active"
    FINALIZED = "finalized"
    CANCELLED = "cancelled"


class LifecycleJobKind(enum.StrEnum):
    """The work a status change hands to the worker."""

    REFUND = "refund"  # cancel: refund unused paid tickets, cancel holds, clear queues
    FREEZE = "freeze"  # finalize: store the final standings
    REVOKE = "revoke"  # reopen: revoke the stored standings, re-check tokens


class LifecycleJobState(enum.StrEnum):
    QUEUED = "queued"  # deferred with the status change, not started yet
    RUNNING = "running"
    RETRYING = "retrying"  # failed; tried again at ``next_attempt_at``
    FAILED = "failed"  # gave up after the last attempt; a self-transition runs it again
    DONE = "done"
    SUPERSEDED = "superseded"  # a later status change replaced it before it was done


class Channel(enum.StrEnum):
    """Where a purchase was made."""

    DESK = "desk"
    ONLINE = "online"
    COMP = "comp"


class PurchaseStatus(enum.StrEnum):
    PENDING = "pending"  # online: tokens held, waiting for Stripe
    COMPLETED = "completed"
    CANCELLED = "cancelled"  # hold expired or payment abandoned
    REFUNDED = "refunded"  # every token of it refunded


class EntryStatus(enum.StrEnum):
    OPEN = "open"
    COMPLETE = "complete"
    VOIDED = "voided"


class LoginKind(enum.StrEnum):
    ADMIN = "admin"
    STAFF = "staff"
    PLAYER = "player"


# --- people -------------------------------------------------------------------------------------


class User(Base):
    """A global account. Event owners may log into the admin interface; others only into events."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    is_event_owner: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Runs this pss instance: creates event-owner accounts and resets their passwords.
    is_instance_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (CheckConstraint("length(username) > 0", name="username_not_empty"),)


class Event(Base):
    """One tournament weekend (PAPA 20, PPO 6): owns its tournaments, staff, players and money."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    starts_at: Mapped[datetime | None] = mapped_column()
    ends_at: Mapped[datetime | None] = mapped_column()
    currency: Mapped[str] = mapped_column(String(3), default="usd")
    #: Where the event happens (an IANA name): every time is shown and typed in it.
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    hold_minutes: Mapped[int] = mapped_column(Integer, default=15)
    # The payment provider online purchases go through (a registered provider's name).
    payment_provider: Mapped[str] = mapped_column(
        String(64), default="stripe", server_default=text("'stripe'")
    )
    # The owner's own Stripe account, for the Stripe provider. Never logged, never shown back.
    stripe_secret_key: Mapped[str | None] = mapped_column(String(255))
    stripe_publishable_key: Mapped[str | None] = mapped_column(String(255))
    stripe_webhook_secret: Mapped[str | None] = mapped_column(String(255))
    #: The owner's IFPA API key: players' IFPA numbers and ranks are looked up when they register
    #: (``pss_core.ifpa``). Never logged, never shown back.
    ifpa_api_key: Mapped[str | None] = mapped_column(String(255))
    #: Players may register themselves online (``/events/<slug>/register``) until the closing time.
    self_registration: Mapped[bool] = mapped_column(Boolean, default=False)
    self_registration_closes_at: Mapped[datetime | None] = mapped_column()
    #: A self-registering player may ask for a free number of their choice.
    self_registration_choose_number: Mapped[bool] = mapped_column(Boolean, default=False)
    self_registration_email_required: Mapped[bool] = mapped_column(Boolean, default=False)
    #: How long each slide of the TV shows, in seconds (the director sets it).
    tv_seconds: Mapped[int] = mapped_column(Integer, default=12)
    #: Standings rows per TV slide; longer standings are paged over several slides.
    tv_rows: Mapped[int] = mapped_column(Integer, default=12)
    #: Whether the TV shows machine boards as well as standings.
    tv_machines: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    owner: Mapped[User] = relationship()
    tournaments: Mapped[list[Tournament]] = relationship(
        back_populates="event", order_by="Tournament.id"
    )

    __table_args__ = (
        CheckConstraint("length(slug) > 0", name="slug_not_empty"),
        CheckConstraint("hold_minutes > 0", name="hold_minutes_positive"),
    )


class EventUser(Base):
    """A user's membership in one event's staff, with a password valid only for that event.

    Removing someone from the staff marks the row removed instead of deleting it: the sales,
    scores and refunds they made keep pointing at it, and history still says who did them."""

    __tablename__ = "event_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Set when taken off the staff: no roles, no login, kept for history.
    removed_at: Mapped[datetime | None] = mapped_column()

    user: Mapped[User] = relationship()
    event: Mapped[Event] = relationship()
    roles: Mapped[list[EventUserRole]] = relationship(
        cascade="all, delete-orphan", back_populates="event_user"
    )

    __table_args__ = (UniqueConstraint("event_id", "user_id"),)

    @property
    def role_set(self) -> frozenset[Role]:
        return frozenset(r.role for r in self.roles)


class EventUserRole(Base):
    __tablename__ = "event_user_roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_user_id: Mapped[int] = mapped_column(ForeignKey("event_users.id", ondelete="CASCADE"))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))

    event_user: Mapped[EventUser] = relationship(back_populates="roles")

    __table_args__ = (UniqueConstraint("event_user_id", "role"),)


class Player(Base):
    """A person who plays, known across events."""

    __tablename__ = "players"

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100), default="")
    #: Lower-cased; with the IFPA id, how a person is found again in the next event.
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    ifpa_id: Mapped[int | None] = mapped_column(Integer, unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class EventPlayer(Base):
    """A player registered in one event, with a player number and PIN that are only valid there."""

    __tablename__ = "event_players"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    player_id: Mapped[int] = mapped_column(ForeignKey("players.id"))
    number: Mapped[int] = mapped_column(Integer)
    pin_hash: Mapped[str] = mapped_column(String(200))
    ifpa_rank: Mapped[int | None] = mapped_column(Integer)
    offences: Mapped[int] = mapped_column(Integer, default=0)
    # Opt-in: an e-mail when the player is next in a machine's queue (off unless asked for).
    email_when_next: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=text("false")
    )
    #: The IFPA look-up (``pss_core.ifpa``): ``None`` where none was asked for, else
    #: pending, found, several, none or failed, with a note for the desk.
    ifpa_lookup: Mapped[str | None] = mapped_column(String(16))
    ifpa_lookup_note: Mapped[str | None] = mapped_column(String(300))
    ifpa_lookup_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    #: When a pending look-up is next tried (after the IFPA did not answer).
    ifpa_lookup_due_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    player: Mapped[Player] = relationship()
    event: Mapped[Event] = relationship()

    __table_args__ = (
        UniqueConstraint("event_id", "number"),
        UniqueConstraint("event_id", "player_id"),
        CheckConstraint("number > 0", name="number_positive"),
        CheckConstraint("offences >= 0", name="offences_not_negative"),
    )

    @property
    def name(self) -> str:
        return self.player.name


class Team(Base):
    """A team in one event; its members share the team's tokens in team tournaments."""

    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    members: Mapped[list[TeamMember]] = relationship(
        cascade="all, delete-orphan", order_by="TeamMember.id"
    )

    __table_args__ = (UniqueConstraint("event_id", "name"),)


class TeamMember(Base):
    __tablename__ = "team_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    event_player_id: Mapped[int] = mapped_column(ForeignKey("event_players.id"))

    event_player: Mapped[EventPlayer] = relationship()

    __table_args__ = (UniqueConstraint("team_id", "event_player_id"),)


class QuestionKind(enum.StrEnum):
    """What kind of answer a registration question takes."""

    TEXT = "text"
    CHOICE = "choice"  # one of the question's choices (a t-shirt size)
    YES_NO = "yes_no"
    NUMBER = "number"


class RegistrationQuestion(Base):
    """A question the tournament director asks every player at registration (desk or online)."""

    __tablename__ = "registration_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(200))
    help: Mapped[str] = mapped_column(String(500), default="")
    kind: Mapped[QuestionKind] = mapped_column(_enum(QuestionKind, "question_kind"))
    choices: Mapped[list[Any]] = mapped_column(default=list)
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=1)
    #: Deactivated questions are no longer asked; their answers are kept and exported.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (CheckConstraint("length(label) > 0", name="label_not_empty"),)


class RegistrationAnswer(Base):
    """One player's answer to one registration question, as text (``yes``/``no`` for yes/no)."""

    __tablename__ = "registration_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_player_id: Mapped[int] = mapped_column(
        ForeignKey("event_players.id", ondelete="CASCADE"), index=True
    )
    question_id: Mapped[int] = mapped_column(
        ForeignKey("registration_questions.id", ondelete="CASCADE"), index=True
    )
    value: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("event_player_id", "question_id"),)


# --- tournaments and machines -------------------------------------------------------------------


class TicketScopeMixin:
    """Pricing and sales fields shared by tournaments and metatournaments."""

    price_cents: Mapped[int] = mapped_column(Integer, default=0)
    # [{"count": 3, "price_cents": 800}, ...]: bundles priced below `count` singles.
    bundles: Mapped[list[Any]] = mapped_column(default=list)
    min_purchase: Mapped[int] = mapped_column(Integer, default=1)
    purchase_increment: Mapped[int] = mapped_column(Integer, default=1)
    max_unused_tickets: Mapped[int | None] = mapped_column(Integer)
    ticket_quota: Mapped[int | None] = mapped_column(Integer)
    allow_ticket_purchases: Mapped[bool] = mapped_column(Boolean, default=True)


class Tournament(TicketScopeMixin, Base):
    """A division of an event (Main A, Classics), played in one format with its options."""

    __tablename__ = "tournaments"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    format: Mapped[str] = mapped_column(String(64))
    format_options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[TournamentStatus] = mapped_column(
        _enum(TournamentStatus, "tournament_status"), default=TournamentStatus.ACTIVE
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_team: Mapped[bool] = mapped_column(Boolean, default=False)
    max_team_size: Mapped[int | None] = mapped_column(Integer)
    queuing_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    queue_limit: Mapped[int | None] = mapped_column(Integer)
    qualifying_cut: Mapped[int | None] = mapped_column(Integer)
    # Scores on machines removed from the bank keep counting unless the director says otherwise.
    count_removed_machines: Mapped[bool] = mapped_column(Boolean, default=True)
    # Bumped by every change to scores or entries; standings caches key on it.
    version: Mapped[int] = mapped_column(Integer, default=0)
    #: Set when the tournament was cancelled (active → draft): a draft with refunded tickets.
    cancelled_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    event: Mapped[Event] = relationship(back_populates="tournaments")
    machines: Mapped[list[TournamentMachine]] = relationship(
        back_populates="tournament", order_by="TournamentMachine.id"
    )

    __table_args__ = (
        UniqueConstraint("event_id", "slug"),
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
        CheckConstraint("min_purchase >= 1", name="min_purchase_positive"),
        CheckConstraint("purchase_increment >= 1", name="increment_positive"),
        CheckConstraint("max_team_size IS NULL OR max_team_size >= 1", name="team_size_positive"),
        CheckConstraint("queue_limit IS NULL OR queue_limit >= 1", name="queue_limit_positive"),
        CheckConstraint("ticket_quota IS NULL OR ticket_quota >= 0", name="quota_not_negative"),
    )


class Metatournament(TicketScopeMixin, Base):
    """A ticket scope spanning several tournaments (a classics ticket good on any classics day)."""

    __tablename__ = "metatournaments"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    #: The lifecycle of the metatournament's own tickets (its members have their own).
    status: Mapped[TournamentStatus] = mapped_column(
        _enum(TournamentStatus, "metatournament_status"),
        default=TournamentStatus.ACTIVE,
        server_default=TournamentStatus.ACTIVE.value,
    )
    cancelled_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    members: Mapped[list[MetatournamentMember]] = relationship(cascade="all, delete-orphan")

    __table_args__ = (
        UniqueConstraint("event_id", "slug"),
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
    )


class MetatournamentMember(Base):
    __tablename__ = "metatournament_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    metatournament_id: Mapped[int] = mapped_column(
        ForeignKey("metatournaments.id", ondelete="CASCADE")
    )
    # A tournament belongs to at most one metatournament, so "which meta token" is never ambiguous.
    tournament_id: Mapped[int] = mapped_column(ForeignKey("tournaments.id"), unique=True)

    tournament: Mapped[Tournament] = relationship()


class Machine(Base):
    """A pinball machine title in the catalogue (shared by all events)."""

    __tablename__ = "machines"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    abbreviation: Mapped[str] = mapped_column(String(16), default="")
    manufacturer: Mapped[str] = mapped_column(String(100), default="")
    year: Mapped[int | None] = mapped_column(Integer)


class TournamentMachine(Base):
    """A machine in one tournament's bank, with who is playing it now."""

    __tablename__ = "tournament_machines"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    tournament_id: Mapped[int] = mapped_column(ForeignKey("tournaments.id"), index=True)
    machine_id: Mapped[int] = mapped_column(ForeignKey("machines.id"))
    status: Mapped[MachineStatus] = mapped_column(
        _enum(MachineStatus, "machine_status"), default=MachineStatus.ACTIVE
    )
    # The game in progress, if any. A player (or team) is on at most one machine in the whole event.
    player_id: Mapped[int | None] = mapped_column(ForeignKey("event_players.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("tokens.id"))
    game_started_at: Mapped[datetime | None] = mapped_column()

    tournament: Mapped[Tournament] = relationship(back_populates="machines")
    machine: Mapped[Machine] = relationship()
    player: Mapped[EventPlayer | None] = relationship(foreign_keys=[player_id])
    team: Mapped[Team | None] = relationship(foreign_keys=[team_id])

    __table_args__ = (
        UniqueConstraint("tournament_id", "machine_id"),
        Index(
            "uq_tournament_machines_player",
            "player_id",
            unique=True,
            postgresql_where=text("player_id IS NOT NULL"),
            sqlite_where=text("player_id IS NOT NULL"),
        ),
        Index(
            "uq_tournament_machines_team",
            "team_id",
            unique=True,
            postgresql_where=text("team_id IS NOT NULL"),
            sqlite_where=text("team_id IS NOT NULL"),
        ),
        # One physical machine of an event (one title in several tournaments' banks) runs one
        # game at a time, whichever tournament it is for.
        Index(
            "uq_tournament_machines_one_game",
            "event_id",
            "machine_id",
            unique=True,
            postgresql_where=text("token_id IS NOT NULL"),
            sqlite_where=text("token_id IS NOT NULL"),
        ),
        CheckConstraint("player_id IS NULL OR team_id IS NULL", name="one_occupant"),
        CheckConstraint(
            "(player_id IS NULL AND team_id IS NULL) = (token_id IS NULL)", name="game_has_token"
        ),
    )


# --- money, tickets and tokens ------------------------------------------------------------------


class Purchase(Base):
    """What was bought: N tickets for one tournament or metatournament, at a price in cents."""

    __tablename__ = "purchases"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    player_id: Mapped[int] = mapped_column(ForeignKey("event_players.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    tournament_id: Mapped[int | None] = mapped_column(ForeignKey("tournaments.id"))
    metatournament_id: Mapped[int | None] = mapped_column(ForeignKey("metatournaments.id"))
    tickets: Mapped[int] = mapped_column(Integer)
    amount_cents: Mapped[int] = mapped_column(Integer)
    # How the amount was made: the bundle and single lines, plus any restrictions applied.
    breakdown: Mapped[dict[str, Any]] = mapped_column(default=dict)
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "channel"))
    status: Mapped[PurchaseStatus] = mapped_column(
        _enum(PurchaseStatus, "purchase_status"), default=PurchaseStatus.COMPLETED
    )
    hold_expires_at: Mapped[datetime | None] = mapped_column()
    refunded_cents: Mapped[int] = mapped_column(Integer, default=0)
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), unique=True)
    sold_by_id: Mapped[int | None] = mapped_column(ForeignKey("event_users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column()

    tokens: Mapped[list[Token]] = relationship(back_populates="purchase", order_by="Token.id")

    @classmethod
    def live(cls, now: datetime) -> Any:
        """The SQL condition for purchases that count at ``now``: completed, or pending with a
        hold that has not expired."""
        return or_(
            cls.status == PurchaseStatus.COMPLETED,
            and_(cls.status == PurchaseStatus.PENDING, cls.hold_expires_at > now),
        )

    __table_args__ = (
        CheckConstraint("(tournament_id IS NULL) != (metatournament_id IS NULL)", name="one_scope"),
        CheckConstraint("tickets > 0", name="tickets_positive"),
        CheckConstraint("amount_cents >= 0", name="amount_not_negative"),
        CheckConstraint(
            "refunded_cents >= 0 AND refunded_cents <= amount_cents", name="refund_within_amount"
        ),
        CheckConstraint("channel != 'comp' OR amount_cents = 0", name="comp_is_free"),
        Index("ix_purchases_pending_hold", "status", "hold_expires_at"),
    )


class Token(Base):
    """One game. Owned by one player or one team; good in one tournament or metatournament."""

    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    purchase_id: Mapped[int | None] = mapped_column(ForeignKey("purchases.id"), index=True)
    player_id: Mapped[int | None] = mapped_column(ForeignKey("event_players.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    tournament_id: Mapped[int | None] = mapped_column(ForeignKey("tournaments.id"), index=True)
    metatournament_id: Mapped[int | None] = mapped_column(ForeignKey("metatournaments.id"))
    comped: Mapped[bool] = mapped_column(Boolean, default=False)
    # A token is unpaid until paid_at; then exactly one of used/voided/refunded ends it.
    paid_at: Mapped[datetime | None] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()
    voided_at: Mapped[datetime | None] = mapped_column()
    refunded_at: Mapped[datetime | None] = mapped_column()
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    purchase: Mapped[Purchase | None] = relationship(back_populates="tokens")

    __table_args__ = (
        CheckConstraint("(player_id IS NULL) != (team_id IS NULL)", name="one_owner"),
        CheckConstraint("(tournament_id IS NULL) != (metatournament_id IS NULL)", name="one_scope"),
        CheckConstraint(
            "(CASE WHEN used_at IS NULL THEN 0 ELSE 1 END"
            " + CASE WHEN voided_at IS NULL THEN 0 ELSE 1 END"
            " + CASE WHEN refunded_at IS NULL THEN 0 ELSE 1 END) <= 1",
            name="one_ending",
        ),
        CheckConstraint(
            "paid_at IS NOT NULL"
            " OR (used_at IS NULL AND voided_at IS NULL AND refunded_at IS NULL)",
            name="ended_tokens_were_paid",
        ),
    )


class Entry(Base):
    """A run of games that counts together: one game in HERB, G games in PAPA-style."""

    __tablename__ = "entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    tournament_id: Mapped[int] = mapped_column(ForeignKey("tournaments.id"), index=True)
    player_id: Mapped[int | None] = mapped_column(ForeignKey("event_players.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    status: Mapped[EntryStatus] = mapped_column(
        _enum(EntryStatus, "entry_status"), default=EntryStatus.OPEN
    )
    games_allowed: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column()
    voided_at: Mapped[datetime | None] = mapped_column()

    scores: Mapped[list[Score]] = relationship(back_populates="entry", order_by="Score.id")

    __table_args__ = (
        CheckConstraint("(player_id IS NULL) != (team_id IS NULL)", name="one_owner"),
        CheckConstraint("games_allowed >= 1", name="games_positive"),
    )


class Score(Base):
    """One game's score on one machine (64-bit: pinball scores pass 2^31)."""

    __tablename__ = "scores"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"), index=True)
    tournament_machine_id: Mapped[int] = mapped_column(
        ForeignKey("tournament_machines.id"), index=True
    )
    token_id: Mapped[int | None] = mapped_column(ForeignKey("tokens.id"), unique=True)
    score: Mapped[int] = mapped_column(BigInteger)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("event_users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    entry: Mapped[Entry] = relationship(back_populates="scores")

    __table_args__ = (
        CheckConstraint("score >= 0", name="score_not_negative"),
        UniqueConstraint("entry_id", "tournament_machine_id"),
    )


class BestScore(Base):
    """What the standings read instead of every score, kept by
    ``pss_core.services.best_scores`` in the transaction of each change: with ``entry_id``,
    one game of a complete entry (PAPA-style standings count an entry's games); without, a
    player's (or team's) best and lowest score on a machine over their complete entries (HERB).
    Rows on removed machines stay: whether they count is the tournament's choice, read with them."""

    __tablename__ = "best_scores"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    tournament_id: Mapped[int] = mapped_column(ForeignKey("tournaments.id"))
    tournament_machine_id: Mapped[int] = mapped_column(ForeignKey("tournament_machines.id"))
    player_id: Mapped[int | None] = mapped_column(ForeignKey("event_players.id"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entries.id"), index=True)
    high: Mapped[int] = mapped_column(BigInteger)
    low: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_best_scores_tournament", "tournament_id", "tournament_machine_id"),
        Index("ix_best_scores_player", "tournament_id", "player_id"),
        Index("ix_best_scores_team", "tournament_id", "team_id"),
    )


class QueueSlot(Base):
    """A place in one tournament machine's queue. A player waits in at most one queue."""

    __tablename__ = "queue_slots"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    tournament_machine_id: Mapped[int] = mapped_column(
        ForeignKey("tournament_machines.id"), index=True
    )
    player_id: Mapped[int | None] = mapped_column(ForeignKey("event_players.id"), unique=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), unique=True)
    position: Mapped[int] = mapped_column(Integer)
    bumped: Mapped[bool] = mapped_column(Boolean, default=False)
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint("(player_id IS NULL) != (team_id IS NULL)", name="one_occupant"),
        CheckConstraint("position >= 1", name="position_positive"),
    )


# --- finals -------------------------------------------------------------------------------------


class Finals(Base):
    """Finals (or group match play) played from a qualifying tournament's standings, in a pairing
    format with its options."""

    __tablename__ = "finals"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    tournament_id: Mapped[int] = mapped_column(ForeignKey("tournaments.id"), index=True)
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    format: Mapped[str] = mapped_column(String(64))
    format_options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: How many qualify.
    cut: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("event_id", "slug"),
        CheckConstraint("cut >= 2", name="cut_at_least_two"),
    )


class FinalsPlayer(Base):
    """A qualifier at their finals seed (set once the cut and bye lines are settled)."""

    __tablename__ = "finals_players"

    id: Mapped[int] = mapped_column(primary_key=True)
    finals_id: Mapped[int] = mapped_column(ForeignKey("finals.id", ondelete="CASCADE"), index=True)
    event_player_id: Mapped[int] = mapped_column(ForeignKey("event_players.id"))
    seed: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        UniqueConstraint("finals_id", "seed"),
        UniqueConstraint("finals_id", "event_player_id"),
    )


class FinalsGroup(Base):
    """One group of one round; its members are seeds in ``seeds`` (dealing order)."""

    __tablename__ = "finals_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    finals_id: Mapped[int] = mapped_column(ForeignKey("finals.id", ondelete="CASCADE"), index=True)
    round_number: Mapped[int] = mapped_column(Integer)
    label: Mapped[str] = mapped_column(String(16))
    seeds: Mapped[list[Any]] = mapped_column(default=list)
    advance: Mapped[int] = mapped_column(Integer)
    games: Mapped[int] = mapped_column(Integer)
    #: The machine the TD assigned for the group's next game (``None``: the scorekeeper picks).
    tournament_machine_id: Mapped[int | None] = mapped_column(ForeignKey("tournament_machines.id"))
    #: The finishing order, best first, once it stands.
    result: Mapped[list[Any] | None] = mapped_column()

    __table_args__ = (UniqueConstraint("finals_id", "label"),)


class FinalsGame(Base):
    """One game of a group, a tiebreaker game in a group, or (``group_id`` empty) a tiebreaker
    game at the qualifying cut or bye line. ``places`` maps the seed (or, at the cut, the
    ``EventPlayer.id``) to the place; ``scores`` the same to the score when scores were kept."""

    __tablename__ = "finals_games"

    id: Mapped[int] = mapped_column(primary_key=True)
    finals_id: Mapped[int] = mapped_column(ForeignKey("finals.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("finals_groups.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    tiebreaker: Mapped[bool] = mapped_column(Boolean, default=False)
    tournament_machine_id: Mapped[int | None] = mapped_column(ForeignKey("tournament_machines.id"))
    places: Mapped[dict[str, Any]] = mapped_column(default=dict)
    scores: Mapped[dict[str, Any] | None] = mapped_column()
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("event_users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class PaymentTransaction(Base):
    """One exchange with the payment processor, kept with its outcome and error type."""

    __tablename__ = "payment_transactions"

    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchases.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))  # create_intent, retrieve, refund, webhook ...
    ok: Mapped[bool] = mapped_column(Boolean)
    error_type: Mapped[str | None] = mapped_column(String(64))
    error_code: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str | None] = mapped_column(Text)
    amount_cents: Mapped[int | None] = mapped_column(Integer)
    stripe_object_id: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StripeWebhookEvent(Base):
    """Stripe events already handled by one pss event, so a replayed or duplicated webhook is
    harmless. Keyed per pss event: several pss events may share one Stripe account, and Stripe
    then sends the same ``evt_`` to each of their endpoints, each of which must handle it."""

    __tablename__ = "stripe_webhook_events"

    event_id: Mapped[int] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    stripe_event_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class Refund(Base):
    """Money given back for unused paid tokens, at the desk (cash) or through Stripe."""

    __tablename__ = "refunds"

    id: Mapped[int] = mapped_column(primary_key=True)
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchases.id"), index=True)
    amount_cents: Mapped[int] = mapped_column(Integer)
    tokens: Mapped[int] = mapped_column(Integer)
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "refund_channel"))
    stripe_refund_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    reason: Mapped[str] = mapped_column(String(200), default="")
    refunded_by_id: Mapped[int | None] = mapped_column(ForeignKey("event_users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint("amount_cents >= 0", name="amount_not_negative"),
        CheckConstraint("tokens >= 0", name="tokens_not_negative"),
    )


class PriceRestriction(Base):
    """A pricing or availability rule (early bird, coupon) that a restriction plugin interprets."""

    __tablename__ = "price_restrictions"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    tournament_id: Mapped[int | None] = mapped_column(ForeignKey("tournaments.id"))
    metatournament_id: Mapped[int | None] = mapped_column(ForeignKey("metatournaments.id"))
    kind: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    max_uses: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        CheckConstraint("max_uses IS NULL OR max_uses >= 0", name="max_uses_not_negative"),
    )


class RestrictionUse(Base):
    """One purchase's use of a restriction (a coupon redeemed), counted under its lock."""

    __tablename__ = "restriction_uses"

    id: Mapped[int] = mapped_column(primary_key=True)
    restriction_id: Mapped[int] = mapped_column(ForeignKey("price_restrictions.id"), index=True)
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchases.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("restriction_id", "purchase_id"),)


# --- sessions, throttling, notifications, audit -------------------------------------------------


class LoginSession(Base):
    """A login to the admin interface, to one event as staff, or to one event as a player."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[LoginKind] = mapped_column(_enum(LoginKind, "login_kind"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    player_id: Mapped[int | None] = mapped_column(ForeignKey("event_players.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        CheckConstraint(
            "(kind = 'admin' AND event_id IS NULL AND user_id IS NOT NULL AND player_id IS NULL)"
            " OR (kind = 'staff' AND event_id IS NOT NULL AND user_id IS NOT NULL"
            " AND player_id IS NULL)"
            " OR (kind = 'player' AND event_id IS NOT NULL AND player_id IS NOT NULL"
            " AND user_id IS NULL)",
            name="kind_matches_subject",
        ),
    )


class ApiToken(Base):
    """A personal API token for scripts and other tools: made by a staff member for one event
    and one of their roles, shown once, stored as a hash, used as a bearer token."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    #: Who made it; it grants at most what they hold in the event at the time of each request.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[Role] = mapped_column(_enum(Role, "api_token_role"))
    #: What the maker calls it ("results feed"), to tell tokens apart.
    label: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    #: Requests in the current rate window, and when that window began.
    window_requests: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime | None] = mapped_column()


class LoginThrottle(Base):
    """Failed login attempts per key (a player number or username, a client address, a whole
    event) with a lockout time. ``event_id`` is NULL for the admin interface's keys."""

    __tablename__ = "login_throttles"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column()
    #: Set by the desk's unlock: until then the address and event-wide caps do not stand in
    #: this player's way (the per-number limit still does).
    exempt_until: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        UniqueConstraint("event_id", "key"),
        # UNIQUE(event_id, key) never matches two NULLs, so the admin keys need their own.
        Index(
            "uq_login_throttles_admin_key",
            "key",
            unique=True,
            postgresql_where=text("event_id IS NULL"),
            sqlite_where=text("event_id IS NULL"),
        ),
    )


class LoginDevice(Base):
    """A device (browser) that has logged in successfully as one subject (a player number,
    a username) in one event or the admin interface. It keeps its own allowance of failed
    attempts, so guesses from elsewhere never lock the real person out of their own phone."""

    __tablename__ = "login_devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    #: The throttle key of the subject, e.g. ``player:101`` or ``staff:alice``.
    subject: Mapped[str] = mapped_column(String(200))
    #: SHA-256 of the device cookie's value.
    token_hash: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime] = mapped_column(default=utcnow)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column()

    __table_args__ = (Index("ix_login_devices_subject", "event_id", "subject"),)


class Notification(Base):
    """A message for a player (your queue was cleared), recorded for the player's page whatever
    else delivers it; plugins deliver it elsewhere after the change that caused it committed."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    player_id: Mapped[int] = mapped_column(ForeignKey("event_players.id"), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    # What the message is about (machine, tournament), for deliveries that word it themselves.
    details: Mapped[dict[str, Any]] = mapped_column(default=dict, server_default=text("'{}'"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column()
    # When it was handed to the ``pss_notify`` deliveries (after its change committed).
    delivered_at: Mapped[datetime | None] = mapped_column()


class MailStatus(enum.StrEnum):
    PENDING = "pending"  # written with its cause; the worker sends it after commit
    SENT = "sent"
    FAILED = "failed"  # gave up after the last attempt; ``last_error`` says why


class OutgoingMail(Base):
    """An e-mail to a player, written in the transaction of what caused it and sent after commit
    by the worker, with every attempt's outcome kept for the desk to see."""

    __tablename__ = "outgoing_mails"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    player_id: Mapped[int | None] = mapped_column(ForeignKey("event_players.id"), index=True)
    #: purchase_confirmation, payment_failed, payment_refunded, hold_expired, tournament_refund,
    #: tournament_cancelled, up_next
    kind: Mapped[str] = mapped_column(String(64))
    to_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    status: Mapped[MailStatus] = mapped_column(
        _enum(MailStatus, "mail_status"), default=MailStatus.PENDING
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        Index("ix_outgoing_mails_due", "status", "next_attempt_at"),
    )


class AuditLog(Base):
    """One row per state change, written in the same transaction as the change."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int | None] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    actor_player_id: Mapped[int | None] = mapped_column(ForeignKey("event_players.id"))
    actor: Mapped[str] = mapped_column(String(200), default="system")
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(64), default="")
    subject_id: Mapped[int | None] = mapped_column(Integer)
    # The player the change concerns, so a player's history is one indexed query.
    player_id: Mapped[int | None] = mapped_column(ForeignKey("event_players.id"), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --- the tournament lifecycle -------------------------------------------------------------------


class LifecycleJob(Base):
    """The work of one status change of a tournament or metatournament, run by the worker. The
    newest row of a scope is its current job; while it is queued, running or retrying (or failed,
    for everything but a status change) the scope is locked."""

    __tablename__ = "lifecycle_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    tournament_id: Mapped[int | None] = mapped_column(ForeignKey("tournaments.id"), index=True)
    metatournament_id: Mapped[int | None] = mapped_column(
        ForeignKey("metatournaments.id"), index=True
    )
    kind: Mapped[LifecycleJobKind] = mapped_column(_enum(LifecycleJobKind, "lifecycle_job_kind"))
    old_status: Mapped[TournamentStatus] = mapped_column(
        _enum(TournamentStatus, "lifecycle_old_status")
    )
    new_status: Mapped[TournamentStatus] = mapped_column(
        _enum(TournamentStatus, "lifecycle_new_status")
    )
    state: Mapped[LifecycleJobState] = mapped_column(
        _enum(LifecycleJobState, "lifecycle_job_state"), default=LifecycleJobState.QUEUED
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    #: What the last run did (refunds, snapshot id ...), for the TD's page.
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    requested_by: Mapped[str] = mapped_column(String(200), default="system")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column()
    #: Touched after every step, so a run whose worker died can be told from one still going.
    heartbeat_at: Mapped[datetime | None] = mapped_column()
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        CheckConstraint("(tournament_id IS NULL) != (metatournament_id IS NULL)", name="one_scope"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        Index("ix_lifecycle_jobs_due", "state", "next_attempt_at"),
    )


class ResultsSnapshot(Base):
    """The final standings of a tournament as frozen when it was finalized: versioned per
    tournament, never changed afterwards; a reopen marks it revoked and keeps it for history."""

    __tablename__ = "results_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    tournament_id: Mapped[int] = mapped_column(ForeignKey("tournaments.id"), index=True)
    #: 1 for the first finalization, 2 after a reopen and a second one, ...
    number: Mapped[int] = mapped_column(Integer)
    #: The tournament's ``version`` (scores and entries) the standings were computed at.
    tournament_version: Mapped[int] = mapped_column(Integer)
    #: :meth:`pss_core.contract.Standings.as_dict` of the final standings.
    standings: Mapped[dict[str, Any]] = mapped_column()
    job_id: Mapped[int | None] = mapped_column(ForeignKey("lifecycle_jobs.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()
    revoked_by_job_id: Mapped[int | None] = mapped_column(ForeignKey("lifecycle_jobs.id"))

    __table_args__ = (
        UniqueConstraint("tournament_id", "number"),
        CheckConstraint("number >= 1", name="number_positive"),
        # At most one snapshot in force per tournament: a repeated freeze cannot add a second.
        Index(
            "uq_results_snapshots_current",
            "tournament_id",
            unique=True,
            postgresql_where=text("revoked_at IS NULL"),
            sqlite_where=text("revoked_at IS NULL"),
        ),
    )


class IdempotencyKey(Base):
    """An unsafe request sent with an ``Idempotency-Key``, and the answer it got: the same key
    sent again in the same login scope gets that answer instead of doing the work twice."""

    __tablename__ = "idempotency_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Whose key it is: ``session:<id>`` for a login, else ``csrf:<hash>`` for the browser.
    scope: Mapped[str] = mapped_column(String(100))
    key: Mapped[str] = mapped_column(String(200))
    #: SHA-256 of the method, path and body; the same key with another request is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    #: NULL while the first request is still running.
    status: Mapped[int | None] = mapped_column(Integer)
    headers: Mapped[list[Any]] = mapped_column(default=list)
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    __table_args__ = (UniqueConstraint("scope", "key"),)


class PushSubscription(Base):
    """A player's browser that asked for Web Push: where to send (the push service's endpoint)
    and the keys its messages are encrypted for. Messages go there as well as to their page."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    player_id: Mapped[int] = mapped_column(
        ForeignKey("event_players.id", ondelete="CASCADE"), index=True
    )
    #: The push service's URL for this browser (unique: one browser, one subscription).
    endpoint: Mapped[str] = mapped_column(String(1000), unique=True)
    #: The browser's P-256 public key and auth secret (base64url), for RFC 8291 encryption.
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sent_at: Mapped[datetime | None] = mapped_column()
    #: Deliveries that failed in a row (the push service refused or could not be reached).
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class PushKeys(Base):
    """The instance's VAPID key pair, made on first use: push services know pss by it."""

    __tablename__ = "push_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Always ``vapid``: the unique name keeps two processes from making two pairs.
    name: Mapped[str] = mapped_column(String(20), unique=True, default="vapid")
    #: The private key (PEM, PKCS#8).
    private_pem: Mapped[str] = mapped_column(Text)
    #: The public key as browsers want it (``applicationServerKey``: base64url, uncompressed).
    public_key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
