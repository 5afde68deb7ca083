"""The case page's forms as typed bodies, and the case number as a path parameter.

Bounds here are transport limits (no control characters: PostgreSQL refuses NUL in text; ids
within the database's integer range); the workflow and service keep the rules people read, with
their own messages.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import msgspec
from litestar.params import Parameter
from msgspec import Meta

from whistle.inputs import NO_CONTROL_PATTERN, Checkbox, DbId

CaseNumberParam = Annotated[str, Parameter(max_length=32, pattern=NO_CONTROL_PATTERN)]
# Long enough for the longest text the workflow accepts (with room for the service to say
# "too long" in its own words), short enough to refuse junk early.
CaseText = Annotated[str, Meta(max_length=20_000, pattern=NO_CONTROL_PATTERN)]
Choice = Annotated[str, Meta(max_length=64, pattern=NO_CONTROL_PATTERN)]


class TransitionForm(msgspec.Struct):
    transition: Choice = ""
    reason: CaseText = ""
    public_note: CaseText = ""
    outcome: Choice = ""
    referred_to: Choice = ""
    referral_detail: CaseText = ""


class TriageForm(msgspec.Struct):
    priority: Choice = ""
    retaliation_risk: Checkbox = None


class NoteForm(msgspec.Struct):
    body: CaseText = ""


class RevealRequestForm(msgspec.Struct):
    reveal_reason: CaseText = ""


class RevealDecision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class RevealDecisionForm(msgspec.Struct):
    decision: RevealDecision = RevealDecision.REJECT


class RecusalForm(msgspec.Struct):
    recusal_reason: CaseText = ""


class HoldForm(msgspec.Struct):
    hold_reason: CaseText = ""


class ColleagueForm(msgspec.Struct):
    """Names the colleague of an assign, unassign, grant or revoke."""

    officer_id: DbId | None = None


class ColleagueAction(StrEnum):
    """What the case page's colleague forms do to one colleague's access."""

    ASSIGN = "assign"
    UNASSIGN = "unassign"
    GRANT = "grant"
    REVOKE = "revoke"
