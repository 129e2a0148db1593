"""The statistics page for the tournament director and the event's owner: every figure of
:mod:`pss_core.stats` as a chart, its numbers as a table, and each table as CSV
(``/events/<slug>/stats/<table>.csv``)."""

from __future__ import annotations

from typing import Any

from pyramid.response import Response
from pyramid.view import view_config

from pss_core import exports, stats
from pss_web.charts import bar_chart
from pss_web.present import event_json, money
from pss_web.resources import EventChild, add_event_child
from pss_web.security import Permission
from pss_web.viewkit import page

P = Permission
TABLE_NAMES = (
    "sales_by_tournament",
    "sales_by_channel",
    "sales_per_day",
    "sales_per_hour",
    "cash_up",
    "refunds",
    "coupons",
    "games_per_machine",
    "game_times",
    "queue_waits",
    "busiest_hours",
)


class StatsResource(EventChild):
    """``/events/<slug>/stats/``: for the tournament director (an event's owner always is one
    there, see :func:`pss_core.services.auth.identity_for`)."""

    api_paths = ("/events/{event}/stats",)
    title = "Statistics"

    def __getitem__(self, name: str) -> StatsTableResource:
        table = name.removesuffix(".csv")
        if not name.endswith(".csv") or table not in TABLE_NAMES:
            raise KeyError(name)
        return StatsTableResource(self.request, name, self, table)


class StatsTableResource(EventChild):
    api_paths = ("/events/{event}/stats/{table}.csv",)

    def __init__(self, request: Any, name: str, parent: Any, table: str) -> None:
        super().__init__(request, name, parent)
        self.table = table
        self.title = table.replace("_", " ")


add_event_child("stats", StatsResource)


def _cells(table: stats.Table, currency: str) -> list[list[str]]:
    money_at = {table.columns.index(c) for c in table.money}

    def cash(cents: int) -> str:
        return f"-{money(-cents, currency)}" if cents < 0 else money(cents, currency)

    return [
        [
            cash(int(v))
            if i in money_at and v is not None
            else ("" if v is None else f"{v:,}" if isinstance(v, int) else str(v))
            for i, v in enumerate(row)
        ]
        for row in table.rows
    ]


@page(context=StatsResource, permission=P.MANAGE, template="stats/stats.html")
def stats_page(context: StatsResource, request: Any) -> dict[str, Any]:
    """The event's sales, cash-up, refunds, offers used, games per machine, game times, queue
    waits and busiest hours: each a table (``tables[].rows``, money in cents) with a CSV."""
    event = context.event
    figures = stats.event_stats(request.dbsession, event.id)
    tables = []
    for table in figures.tables:
        data = table.as_dict()
        data["csv_url"] = request.resource_url(context, f"{table.name}.csv")
        data["_cells"] = _cells(table, event.currency)
        if table.chart and table.rows:
            data["_chart"] = bar_chart(
                table.title,
                [" · ".join(str(v) for v in r[:1]) for r in table.rows],
                [float(v or 0) for v in table.column(table.chart)],
                money=table.chart in table.money,
            )
        tables.append(data)
    return {"event": event_json(request, event), "currency": event.currency, "tables": tables}


@view_config(context=StatsTableResource, permission=P.MANAGE, request_method=("GET", "HEAD"))
def stats_csv(context: StatsTableResource, request: Any) -> Response:
    """One statistics table as CSV (money in cents), the numbers behind its chart."""
    table = stats.event_stats(request.dbsession, context.event.id)[context.table]
    response = Response(
        content_type="text/csv",
        charset="utf-8",
        body=exports.csv_text(table.columns, table.rows).encode(),
    )
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{context.event.slug}-{table.name}.csv"'
    )
    return response
