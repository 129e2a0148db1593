"""pss: pinball tournament scoring — the domain, the hooks, and the plugin manager.

The names here are the plugin contract (:mod:`pss_core.contract`) and ``hookimpl``, the marker
for hook implementations."""

from importlib.metadata import PackageNotFoundError, version

import pluggy

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

try:
    __version__ = version("pss")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"

hookimpl = pluggy.HookimplMarker("pss")

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
    "Standings",
    "TicketSale",
    "TokenScope",
    "WebhookNotice",
    "__version__",
    "exact_points",
    "find_option",
    "hookimpl",
    "normalise_code",
    "points_exact",
    "points_json",
    "points_text",
    "resolve_options",
    "store_options",
]
