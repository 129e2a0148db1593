"""The demo event with play: sales, scores, a game in progress and a queue, made by the services."""

from sqlalchemy import func, select

from pss_core.demo import MAIN_SCORES, create_demo
from pss_core.models import Purchase, Score
from pss_core.services import queues, setup, tickets

from .invariants import problems


def test_demo_with_play_is_consistent_and_idempotent(dbsession, pss):
    event = create_demo(dbsession, pss, play=True)
    main = event.tournaments[0]
    purchases = dbsession.scalar(
        select(func.count(Purchase.id)).where(Purchase.event_id == event.id)
    )
    assert purchases == 8 + 4 + 1
    assert dbsession.scalar(select(func.count(Score.id))) == len(MAIN_SCORES) + 2
    godzilla = main.machines[4]
    assert godzilla.player is not None
    assert godzilla.player.name == "Cy Nudge"
    assert [p.name for p in queues.queue_for(dbsession, godzilla)] == ["Di Drain", "Ed Multiball"]
    ada = setup.player_by_number(dbsession, event.id, 101)
    assert ada is not None
    [ada_entry] = [s for s in tickets.ticket_summary(dbsession, ada) if s.slug == "classics"]
    assert (ada_entry.paid, ada_entry.used, ada_entry.remaining) == (3, 2, 1)
    assert problems(dbsession, event.id, pss) == []
    summary = {s.slug: s for s in tickets.ticket_summary(dbsession, godzilla.player)}
    assert (summary["main"].paid, summary["main"].used, summary["main"].in_play) == (3, 1, 1)
    # Calling again changes nothing.
    assert create_demo(dbsession, pss, play=True).id == event.id
    assert (
        dbsession.scalar(select(func.count(Purchase.id)).where(Purchase.event_id == event.id))
        == purchases
    )
