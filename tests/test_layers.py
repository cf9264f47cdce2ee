"""The layers of docs/architecture.md, kept: every import between the project's packages
(at module level or inside a function) points down, and none makes a cycle.

    hall        the `hall` command: may import anything; nothing imports it
    lab         demo, soak, benches, screenshot makers: may import the product; the product never imports it
    hallserver  the hall server: govhall, hardware (the ticket preview); inside it, floor by floor:
                domain < store < reports, bootstrap (config → domain) < the desks (cases, attendance,
                settings) < processor < bus;
                the web reads the store and the reports, and changes the hall through the bus
    kiosk, counter   the device apps: govhall, hardware, the Qt toolkit in kiosk; never the server
    hardware    frames, protocols, simulators, bridges: govhall only
    hallserver.domain   the rules: plain Python, govhall.contract only
    govhall     the contract, the config, the device link: nothing of ours
"""
from __future__ import annotations

import ast
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("govhall", "hallserver", "hardware", "kiosk", "counter", "lab", "hall")

# the command path: the processor and its parts (views, housekeeping, announcing)
COMMAND_PATH = ("hallserver.processor", "hallserver.views", "hallserver.housekeeping", "hallserver.announce",
                "hallserver.bootstrap", "hallserver.reports", "hallserver.store", "hallserver.domain",
                "hallserver.case_desk", "hallserver.attendance_desk", "hallserver.complaint_desk",
                "hallserver.inquiry_desk", "hallserver.evaluation_desk", "hallserver.passwords", "govhall")
# who may import whom: the importing module's prefix -> the prefixes it may import
ALLOWED: dict[str, tuple[str, ...]] = {
    "govhall": ("govhall",),
    "hallserver.domain": ("hallserver.domain", "govhall.contract"),
    "hardware": ("hardware", "govhall"),
    "hallserver": ("hallserver", "hardware", "govhall"),
    # inside the server, floor by floor: store < reports < desks < processor < bus, web < server
    "hallserver.store": ("hallserver.store", "hallserver.domain", "hallserver.rating_chain", "govhall"),
    "hallserver.rating_chain": ("hallserver.rating_chain", "govhall"),
    "hallserver.reports": ("hallserver.reports", "hallserver.store", "hallserver.domain", "govhall"),
    "hallserver.web": ("hallserver.web", "hallserver.bootstrap", "hallserver.reports", "hallserver.store",
                       "hallserver.domain",
                       "hallserver.attendance_desk", "hallserver.settings_file", "hallserver.calendar_source",
                       "hallserver.passwords", "hardware", "govhall"),
    "hallserver.bootstrap": ("hallserver.bootstrap", "hallserver.store", "hallserver.domain", "govhall"),
    "hallserver.processor": COMMAND_PATH,
    "hallserver.views": COMMAND_PATH,
    "hallserver.housekeeping": COMMAND_PATH,
    "hallserver.announce": COMMAND_PATH,
    "hallserver.bus": ("hallserver.bus", "hallserver.processor", "hallserver.announce", "hallserver.domain",
                       "hallserver.heap", "govhall"),
    "kiosk": ("kiosk", "hardware", "govhall"),
    "counter": ("counter", "kiosk.qtlink", "kiosk.widgets", "kiosk.workers", "hardware", "govhall"),   # the Qt toolkit
    "lab": ("lab", "hallserver", "hardware", "kiosk", "counter", "govhall"),
    "hall": PACKAGES,
}
# outside libraries the domain may not use: it is plain Python with an injected clock
DOMAIN_FORBIDDEN = ("sqlalchemy", "paho", "amqtt", "nats", "PySide6", "fastapi", "starlette", "serial", "psycopg")


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            found[name] = path
    return found


def imports_of(path: Path) -> list[tuple[str, int]]:
    """Every module named by an import in the file, with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(f"{node.module}.{a.name}", node.lineno) for a in node.names] + [(node.module, node.lineno)]
    return found


def owner(name: str, known: dict[str, Path]) -> str | None:
    """The project module an imported name belongs to (a.b.c -> a.b when c is a name in it)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def rule_for(module: str) -> tuple[str, ...]:
    prefix = max((p for p in ALLOWED if module == p or module.startswith(p + ".")), key=len)
    return ALLOWED[prefix]


def within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def graph() -> tuple[dict[str, set[str]], list[str]]:
    known = modules()
    edges: dict[str, set[str]] = defaultdict(set)
    forbidden = []
    for module, path in known.items():
        for name, line in imports_of(path):
            if module.startswith("hallserver.domain") and name.split(".")[0] in DOMAIN_FORBIDDEN:
                forbidden.append(f"{path.relative_to(ROOT)}:{line}: the domain imports {name}")
            target = owner(name, known)
            if target is None or target == module:
                continue
            edges[module].add(target)
            problem = f"{path.relative_to(ROOT)}:{line}: {module} imports {target}"
            if not within(target, rule_for(module)) and problem not in forbidden:
                forbidden.append(problem)
    return edges, forbidden


def test_every_import_points_down_the_layers():
    _edges, forbidden = graph()
    assert forbidden == [], "imports against docs/architecture.md:\n" + "\n".join(forbidden)


def test_nothing_imports_the_hall_command():
    edges, _ = graph()
    assert [m for m, targets in edges.items() if not m.startswith("hall.") and m != "hall"
            and any(within(t, ("hall",)) for t in targets)] == []


def test_the_imports_make_no_cycle():
    edges, _ = graph()
    sys.setrecursionlimit(10_000)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(v: str) -> None:                 # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))
    for v in list(edges):
        if v not in index:
            visit(v)
    assert cycles == []


@pytest.mark.parametrize("line, why", [
    ("from hallserver.store import Store", "the domain imports the store"),
    ("from lab.demo import demo_config", "the product imports the lab"),
])
def test_the_check_catches_a_forbidden_import(tmp_path, line, why):
    """The rule bites: a domain module importing the store, a server module importing the lab."""
    fake = tmp_path / "probe.py"
    fake.write_text(line + "\n")
    known = modules()
    module = "hallserver.domain.probe" if "store" in line else "hallserver.probe"
    name, _line = imports_of(fake)[-1]
    target = owner(name, known)
    assert target is not None and not within(target, rule_for(module)), why
