"""Templates take their URLs from route names, their labels from filters and their form fields
from one macro module; under strict undefined a missing variable is an error."""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
import pytest
from jinja2 import nodes

from tests.conftest import TEST_ARGON2
from whistle import i18n
from whistle.app import TEMPLATE_LABELS, create_app
from whistle.settings import Settings
from whistle.web.templating import TEMPLATES_DIR, template_config

TEMPLATE_FILES = sorted(TEMPLATES_DIR.rglob("*.html"))
# An attribute holding a URL, and what it may start with other than a template expression.
URL_ATTRIBUTE = re.compile(r'\b(?:href|action|src|formaction)\s*=\s*"([^"]*)"')
NOT_INTERNAL = ("{{", "#", "https://", "http://", "mailto:")
# A quoted path in template code or markup: '/officer', "/track/report", "/", ...
QUOTED_PATH = re.compile(r"""["'](/[^"'\s]*)["']""")


def _relative(path: Path) -> str:
    return str(path.relative_to(TEMPLATES_DIR))


def test_the_templates_are_found():
    assert len(TEMPLATE_FILES) >= 20


@pytest.mark.parametrize("path", TEMPLATE_FILES, ids=_relative)
def test_no_literal_internal_url(path: Path):
    text = path.read_text(encoding="utf-8")
    literal = [value for value in URL_ATTRIBUTE.findall(text) if not value.startswith(NOT_INTERNAL)]
    assert literal == [], f"{_relative(path)}: use url_for(route name) for {literal}"
    assert QUOTED_PATH.findall(text) == [], f"{_relative(path)}: a literal path remains"


def test_the_url_scan_would_see_a_literal_url():
    assert URL_ATTRIBUTE.findall('<a href="/officer/audit">') == ["/officer/audit"]
    assert QUOTED_PATH.findall("{% set target = '/track' %}") == ["/track"]
    assert URL_ATTRIBUTE.findall("<a href=\"{{ url_for('home') }}\">")[0].startswith("{{")


def _url_calls(tree: nodes.Template) -> list[tuple[str, list]]:
    calls = []
    for call in tree.find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name == "url_for":
            calls.append((call.node.name, [arg.as_const() for arg in call.args]))
    return calls


def test_every_route_named_in_a_template_exists(keys_dir: Path, tmp_path: Path):
    """A renamed or removed route fails here, even on a page no other test opens."""
    app = create_app(
        Settings(database_url=f"sqlite:///{tmp_path}/unused.db", keys_dir=keys_dir, **TEST_ARGON2)
    )
    env = template_config(TEMPLATE_LABELS).engine_instance.engine
    named = 0
    for path in TEMPLATE_FILES:
        tree = env.parse(path.read_text(encoding="utf-8"))
        for _function, args in _url_calls(tree):
            index = app.get_handler_index_by_name(args[0])
            assert index is not None, f"{_relative(path)}: no route named {args[0]}"
            named += 1
    assert named >= 45


def _engine(strict: bool = True) -> jinja2.Environment:
    return template_config(TEMPLATE_LABELS, strict=strict).engine_instance.engine


def test_label_filters_translate_in_the_request_language():
    template = _engine().from_string(
        "{{ 'received' | status_label }}|{{ 'pungli' | category_label }}|"
        "{{ 'admin' | role_label }}|{{ 'not_a_status' | status_label }}"
    )
    assert template.render() == "Diterima|Pungutan liar (pungli)|Administrator|not_a_status"
    token = i18n.current_language.set("en")
    try:
        assert template.render() == "Received|Illegal levies (pungli)|Administrator|not_a_status"
    finally:
        i18n.current_language.reset(token)


def test_options_list_a_table_in_order_with_translated_labels():
    template = _engine().from_string(
        "{% for code, label in options('priority_label') %}{{ code }}={{ label }};{% endfor %}"
    )
    assert template.render() == "low=Rendah;normal=Normal;high=Tinggi;urgent=Mendesak;"


def test_strict_undefined_refuses_a_missing_variable_lenient_renders_nothing():
    with pytest.raises(jinja2.UndefinedError):
        _engine(strict=True).from_string("{% if forgotten %}x{% endif %}").render()
    assert _engine(strict=False).from_string("[{{ forgotten }}]").render() == "[]"


def test_the_strict_setting_is_read_from_the_environment():
    assert Settings.from_env({}).strict_templates is False
    assert Settings.from_env({"WHISTLE_STRICT_TEMPLATES": "true"}).strict_templates is True


FIELD = """{% import "macros/forms.html" as forms %}
{% call forms.field("amount", "Jumlah", error, hint, mark_required=true) %}
<input id="amount" name="amount" value="{{ value }}"{{ forms.aria("amount", error, hint) }}>
{% endcall %}"""


def test_a_field_with_an_error_points_its_control_at_the_message():
    html = _engine().from_string(FIELD).render(error="Isi angka.", hint="Dalam rupiah.", value="x1")
    assert '<div class="field invalid">' in html
    assert '<label for="amount">Jumlah <span class="req">(wajib)</span></label>' in html
    assert '<p class="hint" id="amount-hint">Dalam rupiah.</p>' in html
    assert 'value="x1" aria-invalid="true" aria-describedby="amount-error">' in html
    assert '<p class="error" id="amount-error">Isi angka.</p>' in html


def test_a_field_without_an_error_points_its_control_at_the_hint():
    html = _engine().from_string(FIELD).render(error=None, hint="Dalam rupiah.", value="")
    assert '<div class="field">' in html
    assert 'aria-describedby="amount-hint">' in html
    assert "aria-invalid" not in html and "amount-error" not in html


def test_the_error_summary_shows_only_when_there_are_errors():
    template = _engine().from_string(
        '{% import "macros/forms.html" as forms %}{{ forms.error_summary(errors, "Belum.") }}'
    )
    assert template.render(errors={}).strip() == ""
    html = template.render(errors={"name": "Wajib diisi."})
    assert 'role="alert"' in html
    assert "<strong>Belum.</strong> Periksa kembali isian yang ditandai." in html
