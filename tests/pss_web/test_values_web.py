"""The richer standings values on the web: points without noise and the format's column labels on
the standings page, the TV and in JSON; decimal and per-machine options in the director's form,
checked together when saved."""

from __future__ import annotations

import re
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from webtest import TestApp

from pss_core import hookimpl
from pss_core.audit import Actor
from pss_core.contract import Format, FormatSpec, OptionSpec, PointsCurve, Registry
from pss_core.errors import InvalidInput
from pss_core.models import Event, Tournament
from pss_core.plugins import Pss
from pss_core.services import setup
from pss_testing.board import Board
from pss_testing.web import JSON, app_for, login_as, post_json

FIELD = PointsCurve("field", "Field size", lambda p: p.players - p.rank + 1, by_place=True)


class Golfish(Format):
    """Fewest points win, ties averaged over places on the field-size curve; a bonus and a
    target per machine, which must not exceed the bonus times a thousand."""

    def check_options(self, options: Any, machines: Any) -> None:
        for machine, target in options["targets"].items():
            if target > options["bonus"] * 1000:
                raise InvalidInput(f"The target for {machine} is more than the bonus allows.")

    def standings_from_sql(self, session: Any, tournament: Any, options: Any, ranking: Any) -> Any:
        return ranking.sql_herb(
            session,
            tournament,
            machines_counted=2,
            curve=FIELD,
            ties="average",
            lowest_wins=True,
            fewest_points_win=True,
        )


class GolfishPlugin:
    @hookimpl
    def pss_register_formats(self, registry: Registry[FormatSpec]) -> None:
        registry.add(
            FormatSpec(
                "golfish",
                "Golfish",
                options=(
                    OptionSpec("targets", "per_machine", {}, "Targets", minimum=1),
                    OptionSpec("bonus", "decimal", Fraction(1), "Bonus", minimum=0),
                ),
                format=Golfish(),
                points_label="Strokes",
                score_label="Strokes",
            )
        )


@pytest.fixture
def golf_pss(make_pss: Callable[..., Pss]) -> Pss:
    return make_pss(GolfishPlugin())


@pytest.fixture
def app(dbsession: Session, engine: Engine, golf_pss: Pss) -> TestApp:
    return app_for(dbsession, engine, golf_pss)


@pytest.fixture
def golf(dbsession: Session, golf_pss: Pss, demo_event: Event) -> Tournament:
    board = Board(dbsession, golf_pss, demo_event, Actor("td"))
    t = board.tournament("golfish", ["Medieval Madness", "Attack from Mars"], name="Golfish")
    # Medieval Madness: Ada 10, Bo and Cy 20 (2nd and 3rd of three: 1.5 each).
    for number, (name, score) in enumerate((("Ada", 10), ("Bo", 20), ("Cy", 20)), 201):
        board.player(name, number)  # the demo's players are 101-108
        board.game(t, name, "Medieval Madness", score)
    return t


def test_standings_show_points_without_noise_and_the_formats_labels(
    app: TestApp, golf: Tournament
) -> None:
    data = app.get(f"/events/demo/tournaments/{golf.slug}/", headers=JSON).json["standings"]
    assert (data["points_label"], data["score_label"], data["lowest_wins"]) == (
        "Strokes",
        "Strokes",
        True,
    )
    assert [
        (r["rank"], r["name"], r["points"], r.get("points_exact")) for r in data["standings"]
    ] == [(1, "Bo", 1.5, "3/2"), (1, "Cy", 1.5, "3/2"), (3, "Ada", 3, None)]
    html = app.get(f"/events/demo/tournaments/{golf.slug}/").text
    assert re.search(r'<th scope="col" class="num">Strokes</th>', html)
    assert re.search(r'<td class="num">1\.5</td>', html)
    assert "Fewest strokes wins." in html
    tv = app.get("/events/demo/tv").text
    section = tv[tv.index("Golfish") :]
    # The TV names the column in its note (a header row costs a line on a wall screen).
    assert "Fewest strokes wins" in section
    assert "Strokes in the last column, fewest first" in section
    assert re.search(r'<td class="num points">1\.5</td>', section)


def test_per_machine_and_decimal_options_in_the_directors_form(
    app: TestApp, golf: Tournament, demo_event: Event
) -> None:
    login_as(app, demo_event, "td")
    page = app.get(f"/events/demo/tournaments/{golf.slug}/edit")
    form = page.forms[max(k for k in page.forms if isinstance(k, int))]
    ids = {m.machine.name: m.id for m in golf.machines}
    mm, afm = (f"option.targets.{ids[n]}" for n in ("Medieval Madness", "Attack from Mars"))
    assert (form[mm].value, form[afm].value, form["option.bonus"].value) == ("", "", "1")
    assert form["option.bonus"].attrs["inputmode"] == "decimal"
    form[mm] = "lots"
    res = form.submit(status=400)
    assert "Targets for Medieval Madness must be a whole number, not &#39;lots&#39;." in res.text
    form[mm], form[afm], form["option.bonus"] = "1500", "900", "1.5"
    form.submit(status=303)
    assert golf.format_options["targets"] == {"Medieval Madness": 1500, "Attack from Mars": 900}
    assert golf.format_options["bonus"] == "1.5"  # stored as the text typed, read exactly
    again = app.get(f"/events/demo/tournaments/{golf.slug}/edit")
    form = again.forms[max(k for k in again.forms if isinstance(k, int))]
    assert (form[mm].value, form["option.bonus"].value) == ("1500", "1.5")
    # The format's own check sees the options together: 1,600 is more than 1.5 x 1000.
    form[mm] = "1600"
    res = form.submit(status=400)
    assert "The target for Medieval Madness is more than the bonus allows." in res.text
    assert golf.format_options["targets"]["Medieval Madness"] == 1500


def test_per_machine_values_as_json_name_machines(
    app: TestApp, golf: Tournament, demo_event: Event
) -> None:
    login_as(app, demo_event, "td")
    url = f"/events/demo/tournaments/{golf.slug}/edit"
    res = post_json(app, url, {"options": {"targets": {"Twilight Zone": 5}}}, status=400)
    assert res.json["error"] == "invalid_option"
    assert "Twilight Zone is not a machine of this tournament" in res.json["message"]
    res = post_json(app, url, {"options": {"targets": {"Attack from Mars": 700}, "bonus": "0.75"}})
    assert res.json["tournament"]["format_options"] == {
        "targets": {"Attack from Mars": 700},
        "bonus": "0.75",
    }


def test_per_machine_values_need_the_machines_first(
    dbsession: Session, golf_pss: Pss, demo_event: Event
) -> None:
    with pytest.raises(InvalidInput, match="it has none yet; add machines first"):
        setup.create_tournament(
            dbsession,
            golf_pss,
            demo_event,
            "Early",
            "golfish",
            options={"targets": {"Medieval Madness": 5}},
        )
