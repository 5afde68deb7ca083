"""File names: what a reporter's name becomes when stored, and how a download names it."""

from __future__ import annotations

from whistle.evidence import files
from whistle.evidence.store import NAME_MAX, sanitise_name
from whistle.web.uploads import attachment_headers


def test_paths_controls_and_wrong_extensions_are_dropped():
    assert sanitise_name("C:\\Users\\Budi\\kuitansi.txt", files.TEXT) == "kuitansi.txt"
    assert sanitise_name("../../etc/passwd", files.TEXT) == "passwd.txt"
    assert sanitise_name("foto\u202egnp.exe", files.PNG) == "fotognp.exe.png"
    assert sanitise_name("rekaman.MP3", files.MP3) == "rekaman.MP3"
    assert sanitise_name("", files.PDF) == "berkas.pdf"
    assert sanitise_name(None, files.JPEG) == "berkas.jpg"
    assert len(sanitise_name("a" * 500 + ".txt", files.TEXT)) == NAME_MAX


def test_download_headers_carry_an_ascii_name_and_the_real_one():
    headers = attachment_headers('Bukti "suap" ľudia.pdf', "application/pdf", 10)
    disposition = headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="Bukti _suap_ ludia.pdf"; ')
    assert disposition.endswith("filename*=UTF-8''Bukti%20%22suap%22%20%C4%BEudia.pdf")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Length"] == "10"
