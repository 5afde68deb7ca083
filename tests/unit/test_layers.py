"""The layer contract: which module may import which. Read this before adding a package.

Bottom to top; a module imports only from its own layer or the layers below it:

    1. kernel     crypto, db, settings, errors, i18n, clock, logs, context, sessions, inputs
    2. audit      the audit log (append is its one writer)
    3. reports    what a report says (content, statuses) and who can read it (envelope.py)
       evidence   evidence files: their kind from the bytes, metadata cleaning, encrypted storage
    4. officers   accounts, roles, login, key recovery
       notify     alerts without content: the mail outbox (queued by intake and cases in their
                  own transactions), its sender and the auditor's digest
    5. intake | cases   the reporter's side and the officer's side, independent of each other
    6. glue       framework glue: whistle.web (errors, templating, headers, dependencies) and
                  whistle.clitools; only route/api/cli modules use it, service code never does
    7. interface  the route, API and command modules: whistle.<package>.routes / .api / .cli
    8. top        whistle.app (the composition root) and whistle.cli (the command)

Module-level and function-level imports both count. A new module that fits no layer fails the
test until it is placed here. Package-level cycles are refused as well (route, API and command
modules count as interface modules there, not as part of their package).
"""

from __future__ import annotations

import grimp
import pytest

KERNEL = (
    "whistle.crypto",
    "whistle.db",
    "whistle.settings",
    "whistle.errors",
    "whistle.i18n",
    "whistle.clock",
    "whistle.logs",
    "whistle.context",
    "whistle.sessions",
    "whistle.inputs",
    "whistle.resources",
    "whistle.jobs",
    "whistle.piccolo_conf",
    "whistle.piccolo_app",
)
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("kernel", KERNEL),
    ("audit", ("whistle.audit",)),
    ("reports", ("whistle.reports",)),
    ("evidence", ("whistle.evidence",)),
    ("officers", ("whistle.officers",)),
    ("notify", ("whistle.notify",)),
    ("intake | cases | transparency", ("whistle.intake", "whistle.cases", "whistle.transparency")),
    ("glue", ("whistle.web", "whistle.clitools")),
    ("interface", ()),
    ("top", ("whistle.app", "whistle.cli")),
]
INTERFACE_MODULE_NAMES = ("routes", "api", "cli")
# Sibling packages in one layer that must not import each other.
INDEPENDENT = [("whistle.intake", "whistle.cases")]


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def layer_of(module: str) -> int:
    """Index in LAYERS of a whistle module (the package root counts as kernel)."""
    if module == "whistle":
        return 0
    parts = module.split(".")
    if module in ("whistle.app", "whistle.cli"):
        return len(LAYERS) - 1
    if len(parts) == 3 and parts[2] in INTERFACE_MODULE_NAMES:
        return next(index for index, (name, _) in enumerate(LAYERS) if name == "interface")
    for index, (_, packages) in enumerate(LAYERS):
        if any(_within(module, package) for package in packages):
            return index
    raise LookupError(module)


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("whistle", cache_dir=None)


def _imports(graph: grimp.ImportGraph) -> list[tuple[str, str]]:
    return sorted(
        (importer, imported)
        for importer in graph.modules
        for imported in graph.find_modules_directly_imported_by(importer)
        if _within(imported, "whistle")
    )


def test_every_module_has_a_layer(graph):
    unplaced = []
    for module in sorted(graph.modules):
        try:
            layer_of(module)
        except LookupError:
            unplaced.append(module)
    assert not unplaced, f"place these modules in a layer in {__name__}: {unplaced}"


def test_no_module_imports_from_a_layer_above_it(graph):
    upward = [
        f"{importer} ({LAYERS[layer_of(importer)][0]}) imports {imported} "
        f"({LAYERS[layer_of(imported)][0]})"
        for importer, imported in _imports(graph)
        if layer_of(imported) > layer_of(importer)
    ]
    assert not upward, "\n".join(upward)


def test_intake_and_cases_are_independent(graph):
    crossing = [
        f"{importer} imports {imported}"
        for importer, imported in _imports(graph)
        for first, second in INDEPENDENT
        for a, b in ((first, second), (second, first))
        if _within(importer, a) and _within(imported, b)
    ]
    assert not crossing, "\n".join(crossing)


def _package(module: str) -> str:
    """The unit of the cycle check: a package's service modules together; each route, API or
    command module on its own (it sits in the interface layer, above every package, so the
    audit log's pages may use the officer guard while officers write to the audit log)."""
    parts = module.split(".")
    if len(parts) == 3 and parts[2] in INTERFACE_MODULE_NAMES:
        return module
    return ".".join(parts[:2])


def test_no_cycles_between_packages(graph):
    edges: dict[str, set[str]] = {}
    for importer, imported in _imports(graph):
        if _package(importer) != _package(imported):
            edges.setdefault(_package(importer), set()).add(_package(imported))

    def reaches(start: str, goal: str) -> bool:
        seen, todo = set(), [start]
        while todo:
            current = todo.pop()
            if current == goal:
                return True
            if current not in seen:
                seen.add(current)
                todo.extend(edges.get(current, ()))
        return False

    cycles = sorted(
        f"{source} <-> {target}"
        for source, targets in edges.items()
        for target in targets
        if source < target and reaches(target, source)
    )
    assert not cycles, "\n".join(cycles)


def test_the_contract_catches_an_upward_import():
    """The checks above are only as good as layer_of: it must rank these the way the doc says."""
    assert layer_of("whistle.crypto.envelope") < layer_of("whistle.audit.service")
    assert layer_of("whistle.audit.service") < layer_of("whistle.reports.envelope")
    assert layer_of("whistle.reports.envelope") < layer_of("whistle.officers.admin")
    assert layer_of("whistle.officers.admin") < layer_of("whistle.cases.service")
    assert layer_of("whistle.officers.admin") < layer_of("whistle.notify.outbox")
    assert layer_of("whistle.notify.outbox") < layer_of("whistle.cases.service")
    assert layer_of("whistle.cases.service") == layer_of("whistle.intake.service")
    assert layer_of("whistle.intake.service") < layer_of("whistle.web.errors")
    assert layer_of("whistle.web.errors") < layer_of("whistle.officers.routes")
    assert layer_of("whistle.web.routes") == layer_of("whistle.intake.api")
    assert layer_of("whistle.audit.cli") < layer_of("whistle.app")
