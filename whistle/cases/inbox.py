"""The officer's inbox: the cases whose key is wrapped for them, deadline first.

The query reads plain workflow metadata only (threat model 1): case number, category, status,
priority, dates and assignees, so a page of 50 costs two indexed statements (the page with
its rows' assignees and readings, the capped mark counts) whatever the number of cases. Given
the officer's unlocked private key, the rows of the page shown (and only those) are then
opened for a short preview of the description and to mark reports that look alike on the
page; the plaintext lives only in the page rendered, never cached or stored.

The sort and filter expressions are the ones indexed by migration
2026-11-28T06:00:00 (SQLite matches index expressions literally: keep them identical); officer
wraps carry a copy of their values (migration 2026-11-29T14), which the "never opened" and
"unread answer" pages walk.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Container
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from whistle.clock import WIB
from whistle.db import engine as db
from whistle.errors import ValidationFailed
from whistle.i18n import N_
from whistle.inputs import DB_INT_MAX, MAX_PAGE
from whistle.reports import envelope
from whistle.reports import statuses as st
from whistle.reports.content import CATEGORIES
from whistle.reports.envelope import holder_tag

PAGE_SIZE = 50
OPEN_RANK = st.OPEN_RANK_SQL
DUE = st.DUE_SQL
# Below this many wraps the officer's own wraps drive the query (an investigator's handful);
# above it the deadline index does, stopping after one page (a triage officer's thousands).
SMALL_INBOX = 500
# Each mark count stops here: an officer with more marked cases reads "99+", as a mail badge
# does (exact counts over a million wraps would walk them all on every page, and a count
# walks about cap / density of the marked cases before it stops).
MARK_COUNT_CAP = 99
# Below this many unopened wraps, "never opened" reads them (report_key_unopened) and sorts them
# (about 0.2 s for 14,000 at a million cases, against 1.3 s walking the deadline index past the
# opened ones with 5,000 here); above it the deadline index drives.
FEW_UNOPENED = 20_000

STATUS_FILTERS = ("open", "closed", *st.STATUS_LABELS)
DUE_FILTERS = ("overdue", "due_soon")
# The dialogue marks: a reporter answer this officer has not seen, the team's last message
# waiting for the reporter, a case this officer never opened.
MARK_FILTERS = ("unread", "waiting", "new")
SORTS = ("deadline", "newest")
ASSIGNEE_NONE = "none"


def _number(text: str, name: str, largest: int) -> bool:
    """Whether ``text`` is a usable number up to ``largest``. Words are not numbers (a stale
    bookmark still opens), but digits that are no number we could hold ("²", 2**64) are refused:
    they were never a link of ours."""
    if not text.isdigit():
        return False
    if not (text.isascii() and len(text) <= len(str(largest)) and int(text) <= largest):
        raise ValidationFailed({name: N_("Isian ini tidak valid.")})
    return True


@dataclass(frozen=True)
class InboxFilter:
    status: str = ""
    category: str = ""
    priority: str = ""
    # An officer id as text, or "none" for cases nobody is assigned to.
    assignee: str = ""
    due: str = ""
    sort: str = "deadline"
    page: int = 1
    mark: str = ""

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> InboxFilter:
        """Unknown values are dropped rather than refused: a stale bookmark still opens."""

        def pick(name: str, allowed: Container[str]) -> str:
            value = str(raw.get(name) or "")
            return value if value in allowed else ""

        assignee = str(raw.get("assignee") or "")
        if assignee != ASSIGNEE_NONE and not (
            _number(assignee, "assignee", DB_INT_MAX) and int(assignee) >= 1
        ):
            assignee = ""
        page = str(raw.get("page") or "1")
        if not _number(page, "page", MAX_PAGE):
            page = "1"
        return cls(
            status=pick("status", STATUS_FILTERS),
            category=pick("category", CATEGORIES),
            priority=pick("priority", st.PRIORITY_LABELS),
            assignee=assignee,
            due=pick("due", DUE_FILTERS),
            mark=pick("mark", MARK_FILTERS),
            sort=pick("sort", SORTS) or "deadline",
            page=max(int(page), 1),
        )

    def query(self, **changes: Any) -> dict[str, str]:
        """The non-default parameters, for links that keep the other filters."""
        values = {
            "status": self.status,
            "category": self.category,
            "priority": self.priority,
            "assignee": self.assignee,
            "due": self.due,
            "mark": self.mark,
            "sort": "" if self.sort == "deadline" else self.sort,
            "page": "" if self.page == 1 else str(self.page),
        }
        values.update({name: str(value) for name, value in changes.items()})
        return {name: value for name, value in values.items() if value and value != "1"}


@dataclass(frozen=True)
class Deadline:
    kind: str  # "acknowledge" or "feedback"
    due: datetime
    overdue: bool
    due_soon: bool


@dataclass(frozen=True)
class InboxRow:
    id: uuid.UUID
    case_number: str
    category: str
    status: str
    priority: str
    retaliation_risk: bool
    received_at: datetime
    acknowledge_due: datetime
    acknowledged_at: datetime | None
    feedback_due: datetime | None
    deadline: Deadline | None
    assignees: list[str] = field(default_factory=list)
    # The dialogue marks for the officer reading the inbox (see MARK_FILTERS).
    unread: bool = False
    waiting: bool = False
    new: bool = False

    # The start of the description, for an officer holding the key (None otherwise).
    preview: str | None = None
    # Rows of the page that look alike share a letter ("A", "B", ...): see look_alike_key.
    alike: str | None = None


@dataclass(frozen=True)
class MarkCounts:
    """How many of the officer's cases carry each mark."""

    unread: int = 0
    waiting: int = 0
    new: int = 0
    # Counts stop one past this (see mark_counts).
    cap: int = MARK_COUNT_CAP

    def shown(self, mark: str) -> str:
        """The count as the inbox shows it: the number, or "99+" beyond the cap."""
        value: int = getattr(self, mark)
        return f"{self.cap}+" if value > self.cap else str(value)


@dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow]
    filter: InboxFilter
    has_next: bool
    counts: MarkCounts = MarkCounts()


def next_deadline(
    status: str,
    acknowledge_due: datetime,
    acknowledged_at: datetime | None,
    feedback_due: datetime | None,
    *,
    now: datetime,
    due_soon_days: int,
) -> Deadline | None:
    """The deadline that runs now: acknowledgement until acknowledged, then feedback, and none
    once the case is closed. Flags overdue, and due soon (within ``due_soon_days``)."""
    if status not in st.OPEN_STATUSES:
        return None
    if acknowledged_at is None:
        kind, due = "acknowledge", acknowledge_due
    elif feedback_due is not None:
        kind, due = "feedback", feedback_due
    else:
        return None
    overdue = due < now
    return Deadline(kind, due, overdue, not overdue and due < now + timedelta(days=due_soon_days))


class _Sql:
    """WHERE fragments with their arguments, in placeholder order."""

    def __init__(self) -> None:
        self.where: list[str] = []
        self.args: list[Any] = []

    def add(self, fragment: str, *args: Any) -> None:
        self.where.append(fragment)
        self.args.extend(args)


# The cases waiting for the reporter are few: their partial index (migration 2026-11-29T03)
# drives the waiting count; the WHERE term repeats the index's own literally.
WAITING_IDS = "SELECT r.id FROM report r WHERE r.awaiting_reporter"
# Whether the officer holds the case's key, as a scalar look-up (one wrap per officer and
# report): an EXISTS becomes a semi-join, which PostgreSQL's generic plan (asyncpg prepares
# statements) ran as a merge over the officer's wraps, thousands of rows for a count of 100.
_HELD = "(SELECT k.id FROM report_key k WHERE k.report = r.id AND k.holder_tag = {}) IS NOT NULL"


def _wraps(index: str) -> str:
    """The officer's wraps as ``k``, on SQLite read through ``index``: the daily checkpoint's
    sampled statistics (analysis_limit) see an officer holding as many wraps in
    report_key_officer as in a partial index of a few of them, and SQLite then counted the
    flagged wraps by checking all of them (190 ms a page at a million cases). PostgreSQL keeps
    its own statistics."""
    return f"report_key k INDEXED BY {index}" if db.is_sqlite() else "report_key k"


def _unopened() -> str:
    # The officer's wraps not opened since made (partial index report_key_unopened: the WHERE
    # term repeats the index's literally). case_view stays the truth (a wrap made before the
    # flag existed is unopened until opened again), so the "new" filter checks it as well.
    return (
        f"SELECT k.report FROM {_wraps('report_key_unopened')} "  # noqa: S608
        "WHERE k.holder_tag = {} AND NOT k.opened"
    )


def _filters(
    sql: _Sql, view: InboxFilter, *, now: datetime, due_soon_days: int, officer_id: int
) -> None:
    # The two dialogue marks repeat their deadline-ordered partial indexes' WHERE terms
    # (migration 2026-11-29T08): the page walks those few cases in order.
    if view.mark == "unread":
        sql.add(
            "reporter_messages > 0 AND reporter_messages > COALESCE("
            "(SELECT v.reporter_messages_seen FROM case_view v "
            "WHERE v.officer = {} AND v.report = report.id), 0)",
            officer_id,
        )
    elif view.mark == "waiting":
        sql.add("awaiting_reporter")
    elif view.mark == "new":
        sql.add(
            "NOT EXISTS (SELECT 1 FROM case_view v WHERE v.officer = {} AND v.report = report.id)",
            officer_id,
        )
    if view.status == "open":
        sql.add(f"{OPEN_RANK} = 0")
    elif view.status == "closed":
        sql.add(f"{OPEN_RANK} = 1")
    elif view.status:
        sql.add("status = {}", view.status)
    if view.category:
        sql.add("category = {}", view.category)
    if view.priority:
        sql.add("priority = {}", view.priority)
    if view.assignee == ASSIGNEE_NONE:
        sql.add("NOT EXISTS (SELECT 1 FROM case_assignment a WHERE a.report = report.id)")
    elif view.assignee:
        # One investigator's assignments are few: let their index drive.
        sql.add(
            "id IN (SELECT a.report FROM case_assignment a WHERE a.officer = {})",
            int(view.assignee),
        )
    if view.due == "overdue":
        sql.add(f"{OPEN_RANK} = 0 AND {DUE} < {{}}", now)
    elif view.due == "due_soon":
        sql.add(
            f"{OPEN_RANK} = 0 AND {DUE} >= {{}} AND {DUE} < {{}}",
            now,
            now + timedelta(days=due_soon_days),
        )


def _order(view: InboxFilter) -> str:
    if view.sort == "newest":
        return "received_at DESC, case_number DESC"
    if view.status or view.due:
        # The rank is fixed by the filter: sorting by it too would make SQLite sort the whole
        # range instead of reading the index in order.
        return f"{DUE}, case_number"
    return f"{OPEN_RANK}, {DUE}, case_number"


COLUMNS = (
    "id, case_number, category, status, priority, retaliation_risk, received_at, "
    "acknowledge_due, acknowledged_at, feedback_due, reporter_messages, awaiting_reporter"
)


def inbox_sql(
    officer_id: int,
    view: InboxFilter,
    *,
    now: datetime,
    due_soon_days: int,
    small: bool,
    few_unopened: bool = False,
) -> tuple[str, list[Any]]:
    """The page query and its arguments (exposed for the query-plan test and the benchmark).
    ``few_unopened``: whether the officer holds fewer than FEW_UNOPENED unopened wraps (read
    only for the "never opened" filter)."""
    if view.mark in ("new", "unread") and _only_the_mark(view):
        return _marked_wraps_sql(officer_id, view)
    if not small and _wraps_filter(view):
        return _wraps_in_order_sql(officer_id, view, now=now, due_soon_days=due_soon_days)
    sql = _Sql()
    if view.mark == "new" and few_unopened:
        # A few unopened wraps: read them through their partial index, sort the handful. On
        # PostgreSQL as an array, looked up in report's primary key: an IN would become a hash
        # join reading report whole wherever the table looks small to the planner.
        if db.is_sqlite():
            sql.add(f"id IN ({_unopened()})", holder_tag(officer_id))
        else:
            sql.add(f"id = ANY(ARRAY({_unopened()}))", holder_tag(officer_id))
    elif view.mark == "new":
        # Many: walk the deadline index, keeping the cases whose wrap is still unopened.
        sql.add(
            "EXISTS (SELECT 1 FROM report_key k WHERE k.report = report.id "
            "AND k.holder_tag = {} AND NOT k.opened)",
            holder_tag(officer_id),
        )
    elif small:
        # Few wraps: read them through report_key's (holder tag, report) index, sort the handful.
        sql.add(
            "id IN (SELECT k.report FROM report_key k WHERE k.holder_tag = {})",
            holder_tag(officer_id),
        )
    else:
        # Many wraps: walk the deadline index and keep the rows this officer holds a key for.
        sql.add(
            "EXISTS (SELECT 1 FROM report_key k WHERE k.report = report.id AND k.holder_tag = {})",
            holder_tag(officer_id),
        )
    _filters(sql, view, now=now, due_soon_days=due_soon_days, officer_id=officer_id)
    # Only constant fragments are joined here; every value travels as a placeholder argument.
    where = " AND ".join(sql.where)
    text = (
        f"SELECT {COLUMNS} FROM report WHERE {where} ORDER BY {_order(view)} LIMIT {{}} OFFSET {{}}"  # noqa: S608
    )
    return text, [*sql.args, PAGE_SIZE + 1, (view.page - 1) * PAGE_SIZE]


def _page_window(view: InboxFilter) -> str:
    """LIMIT and OFFSET of the walks over the officer's wraps, as integer literals. PostgreSQL
    plans a prepared statement whose LIMIT or OFFSET is a parameter again at every run (its
    generic plan assumes a tenth of the rows); with literals it keeps its generic plan, which
    for a walk that starts from the officer's wraps is the plan it would make anyway (0.25 ms
    of server CPU less on a first page, 0.7 ms on page 200, at a million cases). Only these
    shapes: the report-driven ones would share a generic plan between an officer holding a
    million wraps and one holding a few. Both numbers are ints (the page is parsed as one)."""
    return f"LIMIT {PAGE_SIZE + 1:d} OFFSET {(int(view.page) - 1) * PAGE_SIZE:d}"


def _wraps_filter(view: InboxFilter) -> bool:
    """Whether the view's filters are all copied on the officer's wraps (status and deadline,
    see envelope.copy_inbox_order) and it sorts by deadline: its page's report ids then come
    from report_key_inbox_order alone."""
    return view == InboxFilter(status=view.status, due=view.due, page=view.page)


def _wraps_in_order_sql(
    officer_id: int, view: InboxFilter, *, now: datetime, due_soon_days: int
) -> tuple[str, list[Any]]:
    # A deferred join: the page's report ids from the officer's wraps in their copy of the
    # inbox order (OFFSET inside an index-only scan of report_key_inbox_order, however deep the
    # page), then the page's reports only, by key. Walking report instead read every skipped
    # row and looked up its wrap.
    sql = _Sql()
    # The second term repeats the partial index's own (report_key_inbox_order) literally.
    sql.add("k.holder_tag = {} AND k.inbox_rank IS NOT NULL", holder_tag(officer_id))
    if view.status == "open":
        sql.add("k.inbox_rank = 0")
    elif view.status == "closed":
        sql.add("k.inbox_rank = 1")
    elif view.status:
        # The rank the status implies keeps the walk within its part of the order.
        rank = 0 if view.status in st.OPEN_STATUSES else 1
        sql.add("k.inbox_rank = {} AND k.inbox_status = {}", rank, view.status)
    if view.due == "overdue":
        sql.add("k.inbox_rank = 0 AND k.inbox_due < {}", now)
    elif view.due == "due_soon":
        sql.add(
            "k.inbox_rank = 0 AND k.inbox_due >= {} AND k.inbox_due < {}",
            now,
            now + timedelta(days=due_soon_days),
        )
    columns = ", ".join(f"r.{name.strip()}" for name in COLUMNS.split(","))
    # Only constant fragments are joined here; every value travels as a placeholder argument.
    text = (
        f"SELECT {columns} FROM (SELECT k.report, k.inbox_rank, k.inbox_due, k.inbox_case "  # noqa: S608
        f"FROM {_wraps('report_key_inbox_order')} WHERE {' AND '.join(sql.where)} "
        f"ORDER BY k.inbox_rank, k.inbox_due, k.inbox_case {_page_window(view)}) AS p "
        "JOIN report r ON r.id = p.report ORDER BY p.inbox_rank, p.inbox_due, p.inbox_case"
    )
    return text, sql.args


def _only_the_mark(view: InboxFilter) -> bool:
    """Whether the view filters by its mark alone, in the default (deadline) order."""
    return view == InboxFilter(mark=view.mark, page=view.page)


# The officer's wraps carrying a mark, each checked against case_view (the truth); the WHERE
# terms on the wrap repeat their partial indexes' own literally.
_MARKED_WRAPS = {
    "new": "NOT k.opened AND NOT EXISTS "
    "(SELECT 1 FROM case_view v WHERE v.officer = {} AND v.report = k.report)",
    "unread": "k.unseen_answer AND r.reporter_messages > COALESCE("
    "(SELECT v.reporter_messages_seen FROM case_view v WHERE v.officer = {} "
    "AND v.report = k.report), 0)",
}


_MARKED_WRAPS_INDEX = {"new": "report_key_unopened_due", "unread": "report_key_unseen_answer"}


def _marked_wraps_sql(officer_id: int, view: InboxFilter) -> tuple[str, list[Any]]:
    # The wraps carry their report's place in the inbox order (envelope.copy_inbox_order):
    # walk the officer's unopened (report_key_unopened_due) or flagged (report_key_unseen_answer)
    # wraps in that order and stop after a page.
    columns = ", ".join(f"r.{name.strip()}" for name in COLUMNS.split(","))
    text = (
        f"SELECT {columns} FROM {_wraps(_MARKED_WRAPS_INDEX[view.mark])} "  # noqa: S608
        "JOIN report r ON r.id = k.report "
        f"WHERE k.holder_tag = {{}} AND {_MARKED_WRAPS[view.mark]} "
        f"ORDER BY k.inbox_rank, k.inbox_due, k.inbox_case {_page_window(view)}"
    )
    return text, [holder_tag(officer_id), officer_id]


async def unopened_count(officer_id: int, limit: int = FEW_UNOPENED) -> int:
    """How many of the officer's wraps are not opened yet, counted only up to ``limit``."""
    rows = await db.fetch(
        f"SELECT COUNT(*) AS n FROM ({_unopened()} LIMIT {{}}) AS w",  # noqa: S608
        holder_tag(officer_id),
        limit,
    )
    return int(rows[0]["n"])


# How long an officer's "holds fewer than SMALL_INBOX wraps" is remembered (seconds): it picks
# the shape of their queries, never what they list (both shapes list the same rows), so a
# stale answer costs at most a slower plan for a minute, and a page saves a statement (on
# PostgreSQL a round trip and about 0.4 ms of CPU) by not counting again.
HOLDS_FEW_SECONDS = 60.0


@dataclass
class _Holdings:
    """Per officer id: until when the answer holds, and the answer; for one database only
    (officer ids of another database, or of a restored one, name other officers)."""

    database: object = None
    until: dict[int, tuple[float, bool]] = field(default_factory=dict)


_holdings = _Holdings()


async def holds_few(officer_id: int) -> bool:
    """Whether the officer holds fewer than SMALL_INBOX wraps, counted at most once a minute
    (see HOLDS_FEW_SECONDS) per open database."""
    if _holdings.database is not db.current():
        _holdings.database, _holdings.until = db.current(), {}
    now = time.monotonic()
    remembered = _holdings.until.get(officer_id)
    if remembered is not None and remembered[0] > now:
        return remembered[1]
    few = await wrap_count(officer_id) < SMALL_INBOX
    _holdings.until[officer_id] = (now + HOLDS_FEW_SECONDS, few)
    return few


async def wrap_count(officer_id: int, limit: int = SMALL_INBOX) -> int:
    """How many wraps the officer holds, counted only up to ``limit`` (cheap either way)."""
    rows = await db.fetch(
        "SELECT COUNT(*) AS n FROM (SELECT 1 FROM report_key WHERE holder_tag = {} LIMIT {}) AS w",
        holder_tag(officer_id),
        limit,
    )
    return int(rows[0]["n"])


# The officer's wraps flagged with a reporter answer they may not have seen (partial index
# report_key_unseen_answer: the WHERE term repeats the index's literally), each checked against
# case_view, the truth.
def _unseen_answers() -> str:
    return (
        f"SELECT k.report FROM {_wraps('report_key_unseen_answer')} "  # noqa: S608
        f"JOIN report r ON r.id = k.report WHERE k.holder_tag = {{}} AND {_MARKED_WRAPS['unread']}"
    )


def mark_counts_sql(*, small: bool, cap: int = MARK_COUNT_CAP) -> str:
    """The mark counts query, each count stopping one past ``cap``; ``mark_counts_args`` gives
    its placeholders' values. "Unread answer" counts the officer's wraps flagged with an unseen
    answer, "never opened" their unopened wraps (partial indexes, both checked against
    case_view). The limit is an integer literal, not a parameter: with a LIMIT parameter
    PostgreSQL planned the statement again at every page (see _page_window), 0.2 to 1.3 ms of
    server CPU a page at a million cases. "Waiting" is driven by the officer's wraps when they
    hold few (``small``); otherwise it walks the cases waiting for the reporter (partial
    index), stopping at the cap."""
    if small:
        # A handful of wraps drives the count (the dialogue's cases are far more).
        held = "r.id IN (SELECT k.report FROM report_key k WHERE k.holder_tag = {})"
    else:
        held = _HELD
    limit = f"LIMIT {int(cap) + 1:d}"
    never_opened = (
        f"{_unopened()} AND NOT EXISTS "  # noqa: S608 (constant fragments only)
        f"(SELECT 1 FROM case_view v WHERE v.officer = {{}} AND v.report = k.report) {limit}"
    )
    return (
        f"SELECT (SELECT COUNT(*) FROM ({_unseen_answers()} {limit}) AS u) AS unread, "  # noqa: S608
        # In id order: the partial index (on id) hands the rows over in that order, so no
        # planner prefers reading report whole to find the first few.
        f"(SELECT COUNT(*) FROM ({WAITING_IDS} AND {held} ORDER BY r.id {limit}) "
        "AS w) AS waiting, "
        f"(SELECT COUNT(*) FROM ({never_opened}) AS n) AS new"
    )


def mark_counts_args(officer_id: int) -> list[Any]:
    """The values of ``mark_counts_sql``'s placeholders (the same for both shapes): the
    officer's id where case_view is read, their holder tag where report_key is."""
    tag = holder_tag(officer_id)
    return [tag, officer_id, tag, tag, officer_id]


async def mark_counts(
    officer_id: int, *, small: bool | None = None, cap: int = MARK_COUNT_CAP
) -> MarkCounts:
    """The officer's cases with an unread reporter answer, waiting for the reporter, never
    opened, each counted up to one past ``cap`` (shown as "99+"). ``small``: whether the
    officer holds fewer than SMALL_INBOX wraps (counted here when not given)."""
    if small is None:
        small = await holds_few(officer_id)
    with db.long_reads():  # walks up to the cap per mark: off the event loop on SQLite
        sql, args = mark_counts_sql(small=small, cap=cap), mark_counts_args(officer_id)
        row = (await db.fetch(sql, *args))[0]
    return MarkCounts(
        unread=int(row["unread"]), waiting=int(row["waiting"]), new=int(row["new"]), cap=cap
    )


def _assignees_sql() -> str:
    # The names of the page row's assignees: an array in name order on PostgreSQL; on SQLite a
    # JSON array (it has no arrays), sorted by _names (sorting in SQL built a temporary B-tree
    # for each row of the page: 0.3 to 1 ms a page at a million cases).
    assigned = "FROM case_assignment a JOIN officer o ON o.id = a.officer WHERE a.report = p.id"
    if db.is_sqlite():
        return f"(SELECT json_group_array(o.display_name) {assigned})"
    return f"ARRAY(SELECT o.display_name {assigned} ORDER BY o.display_name)"


def page_sql(officer_id: int, page: tuple[str, list[Any]]) -> tuple[str, list[Any]]:
    """``page``, a page query of ``inbox_sql`` and its arguments, with, on each of its rows, the
    assignees' names (in name order) and the reporter messages the officer had seen when they
    last opened the case (NULL: never opened), in one statement: on PostgreSQL one round trip
    a page instead of two, and the look-ups run for the page's rows only, however deep the
    page (the OFFSET stays inside)."""
    text, args = page
    # Constant fragments only; the subquery keeps its order (no join, no sort above it).
    return (
        f"SELECT p.*, {_assignees_sql()} AS assignees, "  # noqa: S608
        "(SELECT v.reporter_messages_seen FROM case_view v "
        f"WHERE v.officer = {{}} AND v.report = p.id) AS seen FROM ({text}) AS p",
        [officer_id, *args],
    )


def _names(value: Any) -> list[str]:
    """The assignees' names in name order from a page row (see _assignees_sql): a list already
    in order on PostgreSQL; a JSON array on SQLite, sorted here by code point, which is the
    order of SQLite's BINARY collation (UTF-8 bytes compare as code points do)."""
    return sorted(json.loads(value)) if isinstance(value, str) else list(value)


PREVIEW_CHARACTERS = 120


def preview_of(description: str, limit: int = PREVIEW_CHARACTERS) -> str:
    """The first ``limit`` characters of a description on one line, cut at a word when one
    ends near the limit, with an ellipsis when something was left out."""
    text = " ".join(description.split())
    if len(text) <= limit:
        return text
    cut = text[:limit]
    space = cut.rfind(" ")
    if space > limit * 2 // 3:
        cut = cut[:space]
    return cut.rstrip(" ,.;:") + "…"


def _normalised_place(location: str) -> str:
    # "Loket 2", "loket  2." and "LOKET 2" are one place; punctuation and spacing do not count.
    return " ".join("".join(c if c.isalnum() else " " for c in location.casefold()).split())


def look_alike_key(category: str, location: str, received_at: datetime) -> tuple | None:
    """What makes two reports look alike: the same category, the same place (normalised) and
    the same ISO week of receipt. None without a place: nothing to compare."""
    place = _normalised_place(location)
    if not place:
        return None
    year, week, _ = received_at.astimezone(WIB).isocalendar()
    return (category, place, year, week)


def _alike_groups(keys: dict[str, tuple | None]) -> dict[str, str]:
    """Row id -> group letter, for keys shared by two rows or more (in page order)."""
    counts: dict[tuple, int] = {}
    for key in keys.values():
        if key is not None:
            counts[key] = counts.get(key, 0) + 1
    letters: dict[tuple, str] = {}
    groups = {}
    for row_id, key in keys.items():
        if key is not None and counts[key] > 1:
            if key not in letters:
                letters[key] = _letter(len(letters))
            groups[row_id] = letters[key]
    return groups


def _letter(index: int) -> str:
    # A..Z, then AA, AB, ... (a page holds at most PAGE_SIZE rows, so 25 groups).
    return chr(ord("A") + index) if index < 26 else _letter(index // 26 - 1) + _letter(index % 26)


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _as_utc(value: Any) -> Any:
    # SQLite hands back text for columns read through raw SQL in some drivers' paths.
    if isinstance(value, str):
        return datetime.fromisoformat(value).astimezone(UTC)
    return value


async def inbox(
    officer_id: int,
    view: InboxFilter,
    *,
    due_soon_days: int,
    now: datetime | None = None,
    private_key: bytes | None = None,
) -> InboxPage:
    """One page of the officer's inbox under ``view``'s filters and sort; with the officer's
    unlocked ``private_key``, each row of this page carries its preview and look-alike mark."""
    now = now or datetime.now(UTC)
    small = await holds_few(officer_id)
    # With other filters too, "never opened" reads or walks the reports (see inbox_sql).
    few_unopened = (
        view.mark == "new"
        and not _only_the_mark(view)
        and await unopened_count(officer_id) < FEW_UNOPENED
    )
    text, args = page_sql(
        officer_id,
        inbox_sql(
            officer_id,
            view,
            now=now,
            due_soon_days=due_soon_days,
            small=small,
            few_unopened=few_unopened,
        ),
    )

    async def page_rows() -> list[Any]:
        # Some filters walk far before a page is full ("never opened" at a million cases): on
        # SQLite that walk runs on a reader's thread, so other requests are served meanwhile.
        with db.long_reads():
            return await db.fetch(text, *args)

    if db.is_sqlite() or db.current().current_transaction.get() is not None:
        rows, counts = await page_rows(), None
    else:
        # On PostgreSQL the mark counts run beside the page, on a second pooled connection:
        # a page waits for one round trip, not two.
        rows, counts = await asyncio.gather(page_rows(), mark_counts(officer_id, small=small))
    has_next = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    # Each id once as text (the key of every look-up below) and once as a UUID.
    ids = [str(row["id"]) for row in rows]
    report_ids = [_uuid(row["id"]) for row in rows]
    contents = {}
    if private_key is not None and ids:
        opened = await envelope.open_contents_for_officer(officer_id, private_key, report_ids)
        contents = {str(report_id): content for report_id, content in opened.items()}
    alike = _alike_groups(
        {
            key: look_alike_key(
                row["category"], contents[key].location, _as_utc(row["received_at"])
            )
            for key, row in zip(ids, rows, strict=True)
            if key in contents
        }
    )
    result = []
    for key, report_id, row in zip(ids, report_ids, rows, strict=True):
        seen_count = row["seen"]
        acknowledge_due = _as_utc(row["acknowledge_due"])
        acknowledged_at = _as_utc(row["acknowledged_at"])
        feedback_due = _as_utc(row["feedback_due"])
        result.append(
            InboxRow(
                id=report_id,
                case_number=row["case_number"],
                category=row["category"],
                status=row["status"],
                priority=row["priority"],
                retaliation_risk=bool(row["retaliation_risk"]),
                received_at=_as_utc(row["received_at"]),
                acknowledge_due=acknowledge_due,
                acknowledged_at=acknowledged_at,
                feedback_due=feedback_due,
                deadline=next_deadline(
                    row["status"],
                    acknowledge_due,
                    acknowledged_at,
                    feedback_due,
                    now=now,
                    due_soon_days=due_soon_days,
                ),
                assignees=_names(row["assignees"]),
                unread=row["reporter_messages"] > (seen_count or 0),
                waiting=bool(row["awaiting_reporter"]),
                new=seen_count is None,
                preview=preview_of(contents[key].description) if key in contents else None,
                alike=alike.get(key),
            )
        )
    return InboxPage(
        rows=result,
        filter=view,
        has_next=has_next,
        counts=counts if counts is not None else await mark_counts(officer_id, small=small),
    )
