"""Wording a worried citizen trusts: one term for the report, 5W+1H complete, days that say
their kind, outcome labels an internal unit can honestly give, the service's Indonesian name in
the title bar, and an exclusion list that says who each officer is and why it is there."""

from __future__ import annotations

import re

from tests.support.officers import make_officer
from whistle.reports.statuses import OUTCOME_LABELS
from whistle.web.templating import TEMPLATES_DIR

# "Laporan" throughout; "pengaduan" only in the names of other institutions' channels.
OTHER_TERM = "Pengaduan"
SERVICE_TITLE = "Sistem Pelaporan Pelanggaran Kantor Imigrasi"
PUBLIC_PAGES = ["/", "/report", "/track", "/transparency", "/informasi"]


async def test_one_term_for_the_report_on_every_public_page(client):
    for path in PUBLIC_PAGES:
        text = (await client.get(path)).text
        assert OTHER_TERM not in text, path
    for template in TEMPLATES_DIR.rglob("*.html"):
        assert OTHER_TERM not in template.read_text(encoding="utf-8"), template


async def test_the_title_bar_names_the_service_in_indonesian(client):
    home = await client.get("/")
    assert f"<title>{SERVICE_TITLE}</title>" in home.text
    assert "Whistle" not in re.search(r"<title>(.*?)</title>", home.text).group(1)


async def test_the_form_asks_all_six_questions_and_says_exact_time(client):
    form = (await client.get("/report")).text
    assert "apa, di mana, kapan, siapa, mengapa, dan bagaimana (5W+1H)" in form
    home = (await client.get("/")).text
    assert "waktu persis" in home and "waktu tepat" not in home


async def test_days_say_their_kind(client):
    home = (await client.get("/")).text
    assert re.search(r"\d+ hari kalender", home)
    assert not re.search(r"\d+ hari(?! kalender)", home)


def test_outcomes_are_what_an_internal_unit_can_honestly_conclude():
    labels = set(OUTCOME_LABELS.values())
    assert "Dilimpahkan ke APH - dugaan pidana" in labels
    assert not [label for label in labels if "Terbukti" in label and "pidana" in label]


async def test_exclusion_list_names_role_and_says_why(client, ctx):
    await make_officer(ctx, "budi", ["triage"])
    await make_officer(ctx, "sari", ["investigator", "auditor"])
    await make_officer(ctx, "adi", ["admin"])
    form = (await client.get("/report")).text
    assert '<span class="role">- Tim WBS (triase)</span>' in form
    assert '<span class="role">- Investigator</span>' in form
    assert "Auditor" not in form.split("<details")[1], "only roles that read reports"
    assert "Daftar ini ada agar petugas yang terlibat" in form
    css = (await client.get("/static/whistle.css")).text
    assert ".field summary { display: list-item;" in css, "the toggle keeps its marker"
