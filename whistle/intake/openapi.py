"""What the OpenAPI document says about the reporter API beyond what Litestar infers: the report
body with every bound the validator enforces, and every error the API answers (RFC 9457 problem
documents), so a client generated from /schema/openapi.json validates the way the server does."""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import date
from typing import Any

import msgspec
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import Operation

from whistle.inputs import FIRST_SUPPORTED_YEAR
from whistle.reports.content import MAX_AMOUNT_RUPIAH, ReportInput

PROBLEM_MEDIA_TYPE = "application/problem+json"


class RefusedFile(msgspec.Struct):
    """Which file of an upload was refused: its form field, its place among the request's
    files (from 0) and its name as sent."""

    field: str
    index: int
    name: str


class Problem(msgspec.Struct):
    """An RFC 9457 problem document; `errors` names each refused field with its message;
    `file` the refused file of an upload."""

    type: str
    title: str
    status: int
    detail: str | None = None
    errors: dict[str, str] | None = None
    file: RefusedFile | None = None


def problem(description: str) -> ResponseSpec:
    return ResponseSpec(
        data_container=Problem,
        description=description,
        media_type=PROBLEM_MEDIA_TYPE,
        generate_examples=False,
    )


BAD_REQUEST = {400: problem("Not JSON, wrong types, missing or unknown fields")}
TOO_LARGE = {413: problem("Body larger than the server accepts")}
UNSUPPORTED = {415: problem("Body is not application/json")}
UNSUPPORTED_UPLOAD = {415: problem("Body is not multipart/form-data")}
REFUSED_FILE = {
    422: problem(
        "A file was refused (kind not allowed by its bytes, too large, too many, unsafe); "
        "nothing was stored"
    )
}
FILE_NOT_FOUND = {404: problem("No such file sent to the caller (or not theirs to read)")}
FILE_DAMAGED = {409: problem("The stored file is damaged and cannot be sent")}
REFUSED_FIELDS = {422: problem("A field broke a rule; `errors` names each one")}
BUSY = {503: problem("Too many key derivations waiting; nothing was stored, retry later")}
UNAUTHENTICATED = {401: problem("Unknown or expired tracking code or token")}
STILL_FILING = {
    409: problem("The first request with this Idempotency-Key is still being filed; retry")
}
UPLOAD_CONFLICT = {
    409: problem(
        "The Idempotency-Key was used for another upload, or its first upload is still being "
        "stored; nothing was stored"
    )
}
MESSAGE_CONFLICT = {
    409: problem(
        "The Idempotency-Key was used for another message, or its first message is still being "
        "sent; nothing was sent"
    )
}

RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before sending again",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    }
}
IDEMPOTENT_REPLAYED = {
    "Idempotent-Replayed": {
        "description": "The receipt of the earlier request with this Idempotency-Key",
        "required": True,
        "schema": {"type": "string", "enum": ["true"]},
    }
}
WWW_AUTHENTICATE = {
    "WWW-Authenticate": {"required": True, "schema": {"type": "string", "enum": ["Bearer"]}}
}

_TWO_DIGITS = "{:02d}"
_DAYS = {
    28: "(0[1-9]|1[0-9]|2[0-8])",
    29: "(0[1-9]|[12][0-9])",
    30: "(0[1-9]|[12][0-9]|30)",
    31: "(0[1-9]|[12][0-9]|3[01])",
}


def past_date_pattern(today: date) -> str:
    """A pattern for the dates the server takes: real calendar days from the first supported
    year up to ``today``, or empty."""
    years = []
    for year in range(FIRST_SUPPORTED_YEAR, today.year + 1):
        months = []
        last_month = today.month if year == today.year else 12
        for month in range(1, last_month + 1):
            if year == today.year and month == today.month:
                days = "(" + "|".join(_TWO_DIGITS.format(d) for d in range(1, today.day + 1)) + ")"
            else:
                days = _DAYS[calendar.monthrange(year, month)[1]]
            months.append(f"{month:02d}-{days}")
        years.append(f"{year}-({'|'.join(months)})")
    return f"^(({'|'.join(years)}))?$"


def report_body_schema(today: date) -> dict[str, Any]:
    """JSON Schema of POST /api/v1/reports: `ReportInput` as msgspec describes it, plus what
    depends on the day (no future dates) and on two fields at once (a time needs a date)."""
    _, components = msgspec.json.schema_components([ReportInput])
    schema = components["ReportInput"]
    properties = schema["properties"]
    properties["incident_date"]["pattern"] = past_date_pattern(today)
    # Older clients send the amount as text; only plain ASCII digits within the bound.
    properties["amount_requested"]["anyOf"].insert(
        1,
        {
            "type": "string",
            "pattern": f"^([0-9]{{1,{len(str(MAX_AMOUNT_RUPIAH)) - 1}}}|{MAX_AMOUNT_RUPIAH})$",
        },
    )
    schema["if"] = {
        "properties": {"incident_time": {"minLength": 1}},
        "required": ["incident_time"],
    }
    schema["then"] = {
        "properties": {"incident_date": {"minLength": 1}},
        "required": ["incident_date"],
    }
    return schema


def documented(
    *,
    request_body: Callable[[], dict[str, Any]] | None = None,
    headers: dict[str, dict[str, Any]] | None = None,
    media_type: str = "application/json",
) -> type[Operation]:
    """An Operation class that puts a hand-checked request body schema and response headers
    (keyed by status code) into the document."""

    class DocumentedOperation(Operation):
        def to_schema(self) -> dict[str, Any]:
            schema = super().to_schema()
            if request_body is not None:
                schema["requestBody"] = {
                    "required": True,
                    "content": {media_type: {"schema": request_body()}},
                }
            for status, extra in (headers or {}).items():
                schema["responses"][status].setdefault("headers", {}).update(extra)
            return schema

    return DocumentedOperation


def attachments_body_schema() -> dict[str, Any]:
    """multipart/form-data of POST /api/v1/report/attachments: one or more `files` parts, and
    optionally the `message_id` of one of the caller's own messages they belong to."""
    return {
        "type": "object",
        "required": ["files"],
        "properties": {
            "files": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "string", "format": "binary"},
            },
            "message_id": {
                "type": "string",
                "format": "uuid",
                "description": "The id of one of the caller's own messages the files go with",
            },
        },
    }
