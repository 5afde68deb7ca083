"""The officer forms as typed bodies: every field bounded, no control characters (PostgreSQL
refuses NUL in text), so a hostile value is refused before anything reaches the database.

The bounds here are transport limits; the services keep the rules people read (password
policy, username characters), so their messages stay the precise ones.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from whistle.inputs import NO_CONTROL_PATTERN, Checkbox

# Long enough for anything a person types, short enough to refuse junk early. Passwords: the
# policy's own limit is lower and has its own message.
Secret = Annotated[str, Meta(max_length=1024, pattern=NO_CONTROL_PATTERN)]
Code = Annotated[str, Meta(max_length=64, pattern=NO_CONTROL_PATTERN)]
Username = Annotated[str, Meta(max_length=256, pattern=NO_CONTROL_PATTERN)]
DisplayName = Annotated[str, Meta(max_length=128, pattern=NO_CONTROL_PATTERN)]
NextPage = Annotated[str, Meta(max_length=2048, pattern=NO_CONTROL_PATTERN)]
# A form kept through the login, sealed (whistle.web.drafts): base64url only.
SealedDraft = Annotated[str, Meta(max_length=140_000, pattern=r"^[A-Za-z0-9_-]*$")]
Role = Annotated[str, Meta(max_length=32, pattern=NO_CONTROL_PATTERN)]
# The service checks the address itself (whistle.officers.service.validate_email).
Email = Annotated[str, Meta(max_length=320, pattern=NO_CONTROL_PATTERN)]


class LoginForm(msgspec.Struct):
    username: Username = ""
    password: Secret = ""
    code: Code = ""
    next: NextPage = ""
    draft: SealedDraft = ""


class PasswordChangeForm(msgspec.Struct):
    current_password: Secret = ""
    new_password: Secret = ""
    confirm_password: Secret = ""


class TotpCodeForm(msgspec.Struct):
    code: Code = ""


class PasswordForm(msgspec.Struct):
    """A password re-typed to confirm (two-factor off) or chosen by an administrator (reset)."""

    password: Secret = ""


class ConfirmForm(msgspec.Struct):
    """A destructive action sent from the page that said what it destroys."""

    # "yes" from that page's hidden field; anything else shows the page first.
    confirm: Code = ""


class ResetForm(ConfirmForm):
    password: Secret = ""


class TotpDisableForm(msgspec.Struct):
    """Two-factor off: the password and a current code, so a stolen session alone cannot."""

    password: Secret = ""
    code: Code = ""


class RecoveryCodesForm(TotpDisableForm):
    """New recovery codes: the same re-check as turning two-factor off."""


class RolesForm(msgspec.Struct):
    # One ticked box arrives as text, several as a list.
    roles: Role | list[Role] = msgspec.field(default_factory=list)

    def role_list(self) -> list[str]:
        return [self.roles] if isinstance(self.roles, str) else list(self.roles)


class NewOfficerForm(RolesForm):
    username: Username = ""
    display_name: DisplayName = ""
    password: Secret = ""
    email: Email = ""


class EmailForm(msgspec.Struct):
    """Where alerts go; empty: no mail."""

    email: Email = ""


class SettingsForm(msgspec.Struct):
    require_totp: Checkbox = None
