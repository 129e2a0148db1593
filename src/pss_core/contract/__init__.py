"""The plugin contract: every value a plugin sees, and nothing else. Format and option specs, the
registrars, the values handed to format methods and hooks, score rows and standings, restriction
kinds and verdicts, notifications, payment providers. It imports nothing of pss but errors and
models, so a plugin that uses only this, :mod:`pss_core.hookspecs`, :mod:`pss_core.errors` and
:mod:`pss_core.models` is insulated from the rest."""

from pss_core.contract.curves import Place, PointsCurve
from pss_core.contract.formats import Format, FormatSpec
from pss_core.contract.notifications import PlayerNotification
from pss_core.contract.options import (
    ITEM_TYPES,
    OPTION_TYPES,
    OptionSpec,
    find_option,
    resolve_options,
    store_options,
)
from pss_core.contract.pairing import (
    FinishedGroup,
    GroupPlan,
    GroupVerdict,
    PairingFormat,
    Seeding,
    StandingRow,
)
from pss_core.contract.payments import (
    PaymentBusy,
    PaymentDeclined,
    PaymentError,
    PaymentNotConfigured,
    PaymentProvider,
    PaymentProviderSpec,
    PaymentRefused,
    PaymentState,
    PaymentUnavailable,
    ProviderRefund,
    WebhookNotice,
)
from pss_core.contract.plays import (
    GameResult,
    GameStart,
    QueueChange,
    QueueJoin,
    TicketSale,
    TokenScope,
)
from pss_core.contract.points import Points, exact_points, points_exact, points_json, points_text
from pss_core.contract.registry import Registry
from pss_core.contract.restrictions import (
    PriceRequest,
    RestrictionKind,
    RestrictionVerdict,
    normalise_code,
)
from pss_core.contract.standings import (
    MAX_SCORE,
    Competitor,
    EntryResult,
    MachineResult,
    Ranking,
    ScoreRow,
    Standing,
    Standings,
)

__all__ = [
    "ITEM_TYPES",
    "MAX_SCORE",
    "OPTION_TYPES",
    "Competitor",
    "EntryResult",
    "FinishedGroup",
    "Format",
    "FormatSpec",
    "GameResult",
    "GameStart",
    "GroupPlan",
    "GroupVerdict",
    "MachineResult",
    "OptionSpec",
    "PairingFormat",
    "PaymentBusy",
    "PaymentDeclined",
    "PaymentError",
    "PaymentNotConfigured",
    "PaymentProvider",
    "PaymentProviderSpec",
    "PaymentRefused",
    "PaymentState",
    "PaymentUnavailable",
    "Place",
    "PlayerNotification",
    "Points",
    "PointsCurve",
    "PriceRequest",
    "ProviderRefund",
    "QueueChange",
    "QueueJoin",
    "Ranking",
    "Registry",
    "RestrictionKind",
    "RestrictionVerdict",
    "ScoreRow",
    "Seeding",
    "Standing",
    "StandingRow",
    "Standings",
    "TicketSale",
    "TokenScope",
    "WebhookNotice",
    "exact_points",
    "find_option",
    "normalise_code",
    "points_exact",
    "points_json",
    "points_text",
    "resolve_options",
    "store_options",
]
