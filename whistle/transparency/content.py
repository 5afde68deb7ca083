"""Education pages the office edits without touching code.

Each page is a TOML file per language: ``<lang>/<slug>.toml``. The shipped defaults live in
``whistle/transparency/content/``; a file of the same name in the office's directory
(``WHISTLE_CONTENT_DIR``) replaces the shipped one. Every file is read and checked at start-up:
a mistake stops the server with a message naming the file and the problem.

A page has a ``title``, an optional ``summary``, ``[[section]]`` tables with ``heading`` and
``body``, and optionally a ``[fees]`` table (the official fee table). Bodies use a tiny markup
and never raw HTML: blank lines separate paragraphs, lines starting with ``- `` make a list,
``[text](https://...)`` is a link, and ``{acknowledge_days}`` / ``{feedback_days}`` are the
deadlines from the settings.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from whistle.i18n import LANGUAGES, N_

SHIPPED_DIR = Path(__file__).resolve().parent / "content"
# The pages in menu order: slug -> the menu label (a message id).
PAGES: dict[str, str] = {
    "biaya-resmi": N_("Biaya resmi"),
    "pungli-calo-gratifikasi": N_("Pungli, calo, gratifikasi"),
    "hak-pelapor": N_("Hak dan perlindungan pelapor"),
    "melapor-dengan-aman": N_("Melapor dengan aman"),
    "setelah-melapor": N_("Setelah melapor"),
    "kanal-lain": N_("Kanal pelaporan lain"),
    "tanya-jawab": N_("Tanya jawab"),
    "kontak": N_("Kontak kantor"),
}
PLACEHOLDERS = ("acknowledge_days", "feedback_days")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_LINK = re.compile(r"\[([^\[\]]+)\]\((\S+?)\)")
_SAFE_HREF = re.compile(
    r"^(https://[^\s\"'<>]+|mailto:[^\s\"'<>]+|tel:\+?[0-9 -]+|/[^/\\][^\s\"'<>]*|/)$"
)
_PAGE_KEYS = {"title", "summary", "section", "fees"}
_SECTION_KEYS = {"heading", "body"}
_FEES_KEYS = {"source", "checked", "note", "row"}
_FEE_ROW_KEYS = {"service", "amount", "unit", "note"}


class ContentError(ValueError):
    """An education content file cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Link:
    text: str
    href: str

    @property
    def external(self) -> bool:
        return self.href.startswith("https://")


Inline = Text | Link


@dataclass(frozen=True)
class Block:
    """A paragraph (``items`` holds one line of inlines) or a bullet list (one per item)."""

    kind: str  # "paragraph" or "list"
    items: tuple[tuple[Inline, ...], ...]


@dataclass(frozen=True)
class Section:
    heading: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class FeeRow:
    service: str
    amount: int
    unit: str
    note: str


@dataclass(frozen=True)
class FeeTable:
    source: str
    checked: date
    note: str
    rows: tuple[FeeRow, ...]


@dataclass(frozen=True)
class Page:
    slug: str
    language: str
    title: str
    summary: str
    sections: tuple[Section, ...]
    fees: FeeTable | None
    path: Path


class EducationContent:
    """Every page in every language, checked; ``page(slug, language)`` picks one.

    A plain class, not a dataclass: Litestar would try to convert a dataclass dependency."""

    def __init__(self, pages: dict[tuple[str, str], Page]) -> None:
        self.pages = pages

    def page(self, slug: str, language: str) -> Page | None:
        return self.pages.get((slug, language))


def load_content(override_dir: Path | None, deadlines: dict[str, int]) -> EducationContent:
    """Read and check every page (office file if present, else the shipped one).

    Raises ContentError naming the file and the problem.
    """
    if override_dir is not None and not override_dir.is_dir():
        raise ContentError(f"{override_dir}: the content directory does not exist")
    pages: dict[tuple[str, str], Page] = {}
    for language in LANGUAGES:
        for slug in PAGES:
            path = _source(override_dir, language, slug)
            pages[(slug, language)] = _read_page(path, slug, language, deadlines)
    if override_dir is not None:
        _refuse_unknown_files(override_dir)
    return EducationContent(pages)


def _source(override_dir: Path | None, language: str, slug: str) -> Path:
    relative = Path(language) / f"{slug}.toml"
    if override_dir is not None and (override_dir / relative).is_file():
        return override_dir / relative
    return SHIPPED_DIR / relative


def _refuse_unknown_files(override_dir: Path) -> None:
    # A misspelt file name would otherwise be ignored silently while the office thinks it is live.
    for path in sorted(override_dir.rglob("*.toml")):
        relative = path.relative_to(override_dir)
        if len(relative.parts) != 2 or relative.parts[0] not in LANGUAGES or path.stem not in PAGES:
            raise ContentError(
                f"{path}: not a known page (expected <language>/<page>.toml with language one of "
                f"{', '.join(LANGUAGES)} and page one of {', '.join(PAGES)})"
            )


def _read_page(path: Path, slug: str, language: str, deadlines: dict[str, int]) -> Page:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as error:
        raise ContentError(f"{path}: not valid TOML ({error})") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ContentError(f"{path}: cannot be read ({error})") from None
    check = _Checker(path, deadlines)
    check.keys(data, _PAGE_KEYS, "the page")
    sections = data.get("section", [])
    if not isinstance(sections, list):
        check.fail("[[section]] must be a list of tables")
    return Page(
        slug=slug,
        language=language,
        title=check.text(data, "title", "the page"),
        summary=check.text(data, "summary", "the page", required=False),
        sections=tuple(check.section(item, index) for index, item in enumerate(sections, 1)),
        fees=check.fees(data["fees"]) if "fees" in data else None,
        path=path,
    )


class _Checker:
    def __init__(self, path: Path, deadlines: dict[str, int]) -> None:
        self.path = path
        self.deadlines = deadlines

    def fail(self, problem: str) -> None:
        raise ContentError(f"{self.path}: {problem}")

    def keys(self, table: Any, allowed: set[str], where: str) -> None:
        if not isinstance(table, dict):
            self.fail(f"{where} must be a table")
        unknown = sorted(set(table) - allowed)
        if unknown:
            self.fail(f"unknown key(s) in {where}: {', '.join(unknown)}")

    def text(self, table: dict, key: str, where: str, *, required: bool = True) -> str:
        value = table.get(key, "")
        if not isinstance(value, str) or (required and not value.strip()):
            self.fail(f"{where} needs `{key}` as non-empty text")
        return self.fill(value.strip(), f"`{key}` of {where}")

    def fill(self, text: str, where: str) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match[1]
            if name not in self.deadlines:
                self.fail(
                    f"unknown placeholder {{{name}}} in {where} "
                    f"(known: {', '.join('{' + known + '}' for known in self.deadlines)})"
                )
            return str(self.deadlines[name])

        return _PLACEHOLDER.sub(replace, text)

    def section(self, table: Any, index: int) -> Section:
        where = f"section {index}"
        self.keys(table, _SECTION_KEYS, where)
        heading = self.text(table, "heading", where)
        body = self.text(table, "body", where)
        return Section(heading=heading, blocks=self.blocks(body, where))

    def blocks(self, body: str, where: str) -> tuple[Block, ...]:
        if "<" in body:
            self.fail(f"{where} contains `<`: HTML is not allowed (use the markup in README)")
        blocks: list[Block] = []
        for chunk in re.split(r"\n\s*\n", body):
            lines = [line.strip() for line in chunk.strip().splitlines() if line.strip()]
            if not lines:
                continue
            if all(line.startswith("- ") for line in lines):
                items = tuple(self.inlines(line[2:], where) for line in lines)
                blocks.append(Block("list", items))
            elif any(line.startswith("- ") for line in lines):
                self.fail(f"{where} mixes list lines and text in one paragraph: add a blank line")
            else:
                blocks.append(Block("paragraph", (self.inlines(" ".join(lines), where),)))
        return tuple(blocks)

    def inlines(self, line: str, where: str) -> tuple[Inline, ...]:
        parts: list[Inline] = []
        position = 0
        for match in _LINK.finditer(line):
            if match.start() > position:
                parts.append(Text(line[position : match.start()]))
            href = match[2]
            if not _SAFE_HREF.match(href):
                self.fail(
                    f"link {href!r} in {where}: only https://, mailto:, tel: or a path on this "
                    "site starting with /"
                )
            parts.append(Link(match[1], href))
            position = match.end()
        if position < len(line):
            parts.append(Text(line[position:]))
        return tuple(parts)

    def fees(self, table: Any) -> FeeTable:
        self.keys(table, _FEES_KEYS, "[fees]")
        checked = table.get("checked")
        if not isinstance(checked, date):
            self.fail("[fees] needs `checked` as a date, e.g. checked = 2026-11-28")
        rows = table.get("row", [])
        if not isinstance(rows, list) or not rows:
            self.fail("[fees] needs at least one [[fees.row]]")
        return FeeTable(
            source=self.text(table, "source", "[fees]"),
            checked=checked,
            note=self.text(table, "note", "[fees]"),
            rows=tuple(self.fee_row(row, index) for index, row in enumerate(rows, 1)),
        )

    def fee_row(self, row: Any, index: int) -> FeeRow:
        where = f"fee row {index}"
        self.keys(row, _FEE_ROW_KEYS, where)
        amount = row.get("amount")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
            self.fail(f"{where} needs `amount` as a whole number of rupiah (e.g. 350000)")
        return FeeRow(
            service=self.text(row, "service", where),
            amount=amount,
            unit=self.text(row, "unit", where, required=False),
            note=self.text(row, "note", where, required=False),
        )
