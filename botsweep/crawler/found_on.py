"""Where an account was found: the hunted share of the list that first brought it.

A model scores a profile alone, and on a world where bots are 1-3% of accounts even a good
model flags many humans.  Where an account was found tells them apart: a flower hub turns up
on a leaf's followers, where nearly every id scores as a bot, while a human the model
misreads turns up on a list of humans, where almost none do.  So the smart policy ranks an
account by a posterior rather than by the model alone: the model's odds times the odds of
that list's hunted share (:meth:`~botsweep.crawler.policy.SmartPolicy.hunted`).

Every stub account records the list that first brought it (``accounts.found_via`` and
``found_direction``, written by :func:`~botsweep.storage.pages.absorb_discovered`).
:func:`list_counts` counts, for each account, the *other* accounts found on the same list
that have been scored, and how many of them score at or above the target's threshold.  The
counts are read when a decision is made, under the scorer being hunted, so they grow as the
list's ids are looked up and follow a change of target.  Seeds and accounts stored before
revision 0002 have no source and are ranked by the model alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import Connection, and_, case, func, select

from botsweep.storage.schema import accounts, scores

__all__ = ["list_counts", "source_totals"]

_CHUNK = 500


def source_totals(
    conn: Connection, owners: Sequence[int], scorer: str, threshold: float,
) -> dict[tuple[int, str], tuple[int, int]]:
    """``{(list owner, direction): (hunted, scored)}``: of the accounts first found on each
    list of ``owners`` that are scored by ``scorer``, how many score at or above
    ``threshold``, and how many there are."""
    totals: dict[tuple[int, str], tuple[int, int]] = {}
    hunted = case((scores.c.probability >= threshold, 1), else_=0)
    joined = accounts.join(scores, and_(scores.c.account_id == accounts.c.id,
                                        scores.c.scorer == scorer))
    ordered = sorted(set(owners))
    for start in range(0, len(ordered), _CHUNK):
        chunk: Sequence[int] = ordered[start:start + _CHUNK]
        rows = conn.execute(
            select(accounts.c.found_via, accounts.c.found_direction,
                   func.sum(hunted), func.count())
            .select_from(joined)
            .where(accounts.c.found_via.in_(chunk))
            .group_by(accounts.c.found_via, accounts.c.found_direction))
        for via, direction, bots, scored in rows:
            totals[(int(via), str(direction))] = (int(bots or 0), int(scored))
    return totals


def list_counts(
    conn: Connection, sources: Mapping[int, tuple[int, str]], scorer: str, threshold: float,
    own_p: Mapping[int, float],
) -> dict[int, tuple[int, int]]:
    """``{account: (hunted, scored)}`` among the other scored accounts of its source list.

    ``sources`` maps account ids to (list owner, direction); ``own_p`` holds the accounts'
    own probabilities under ``scorer`` (an account does not count towards its own list).
    """
    totals = source_totals(conn, [via for via, _ in sources.values()], scorer, threshold)
    out: dict[int, tuple[int, int]] = {}
    for aid, source in sources.items():
        bots, scored = totals.get(source, (0, 0))
        if aid in own_p and scored:
            bots -= 1 if own_p[aid] >= threshold else 0
            scored -= 1
        out[aid] = (max(bots, 0), max(scored, 0))
    return out
