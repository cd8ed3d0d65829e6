"""Who staffs which market-day session 便民服务岗: the hard rule (never one cadre in two places at once,
never on leave, never past their maximum) and a fair rotation that balances how often each cadre goes.
Pure: sessions, cadres, leave and existing assignments in; assignments out."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from shared.errors import Conflict


@dataclass(frozen=True)
class Slot:
    """A stretch of one day a cadre is committed to (a session, later a visit)."""

    ref: str
    day: date
    starts_at: datetime
    ends_at: datetime

    def overlaps(self, other: Slot) -> bool:
        return self.starts_at < other.ends_at and other.starts_at < self.ends_at


@dataclass(frozen=True)
class Leave:
    staff_id: int
    first_day: date
    last_day: date

    def covers(self, day: date) -> bool:
        return self.first_day <= day <= self.last_day


def check_assignable(staff_id: int, slot: Slot, commitments: Iterable[Slot], leave: Iterable[Leave]) -> None:
    """The hard constraints, for a manual assignment as much as a generated one."""
    for away in leave:
        if away.staff_id == staff_id and away.covers(slot.day):
            raise Conflict(f"staff {staff_id} is on leave on {slot.day}", code="on_leave")
    for other in commitments:
        if other.ref != slot.ref and other.overlaps(slot):
            raise Conflict(f"staff {staff_id} is already at {other.ref} at that time", {"clash": other.ref},
                           code="double_booked")


def rotate(sessions: Sequence[Slot], cadres: Sequence[int], *, per_session: int, max_per_cadre: int,
           existing: Mapping[int, Sequence[Slot]], leave: Sequence[Leave]) -> dict[str, list[int]]:
    """Assign `per_session` cadres to each session in date order, each time choosing among those free
    the ones who have gone least so far (ties broken by who went longest ago, then by id). Sessions
    that cannot be fully staffed get whom there is; nothing breaks a hard constraint."""
    counts: Counter[int] = Counter({c: sum(1 for s in existing.get(c, ()) if s.ref not in {x.ref for x in sessions})
                                    for c in cadres})
    last_day: dict[int, date] = {}
    busy: dict[int, list[Slot]] = {c: list(existing.get(c, ())) for c in cadres}
    plan: dict[str, list[int]] = {}
    for session in sorted(sessions, key=lambda s: (s.starts_at, s.ref)):
        chosen = [c for c in cadres if any(s.ref == session.ref for s in busy[c])]  # already there
        candidates = sorted(
            (c for c in cadres if c not in chosen and counts[c] < max_per_cadre and _free(c, session, busy, leave)),
            key=lambda c: (counts[c], last_day.get(c, date.min), c))
        for cadre in candidates[:max(0, per_session - len(chosen))]:
            chosen.append(cadre)
            counts[cadre] += 1
            last_day[cadre] = session.day
            busy[cadre].append(session)
        plan[session.ref] = chosen
    return plan


def _free(cadre: int, session: Slot, busy: Mapping[int, list[Slot]], leave: Sequence[Leave]) -> bool:
    try:
        check_assignable(cadre, session, busy[cadre], leave)
    except Conflict:
        return False
    return True
