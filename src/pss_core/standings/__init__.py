"""Standings: the reference engine (:mod:`~pss_core.standings.reference`), the SQL engine
(:mod:`~pss_core.standings.sql`), the CSV reader (:mod:`~pss_core.standings.scorefile`) and
computing a tournament's standings through its format, with a cache
(:mod:`~pss_core.standings.compute`). The values they return live in :mod:`pss_core.contract`.

Two engines compute the same thing. The reference engine works on plain score rows: ``pss
standings`` uses it for CSV files and the tests use it as the oracle. The SQL engine ranks a
tournament's stored scores inside the database in one query per standings.
"""

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
from pss_core.standings.compute import (
    StandingsCache,
    compute_standings,
    points_curve,
    ranking_for,
    standings_from_rows,
)
from pss_core.standings.reference import (
    apply_cut,
    competition_ranks,
    entry_standings,
    herb_standings,
)
from pss_core.standings.scorefile import parse_score, read_score_rows
from pss_core.standings.sql import (
    RANK_BOUND,
    curve_lookup,
    entry_sql,
    herb_sql,
    score_rows,
    sql_entry_standings,
    sql_herb_standings,
)

__all__ = [
    "MAX_SCORE",
    "RANK_BOUND",
    "Competitor",
    "EntryResult",
    "MachineResult",
    "Ranking",
    "ScoreRow",
    "Standing",
    "Standings",
    "StandingsCache",
    "apply_cut",
    "competition_ranks",
    "compute_standings",
    "curve_lookup",
    "entry_sql",
    "entry_standings",
    "herb_sql",
    "herb_standings",
    "parse_score",
    "points_curve",
    "ranking_for",
    "read_score_rows",
    "score_rows",
    "sql_entry_standings",
    "sql_herb_standings",
    "standings_from_rows",
]
