"""No import circles between the project's modules: every import statement counts, at module
level or deferred inside a function (a deferred import hides a circle, it does not remove it).

Read from the source with `ast`, so nothing is imported to draw the graph."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOMAIN = ("tickets", "sla", "escalation", "evidence", "satisfaction", "history")
FACES = ("inbound", "portal", "bench")
PACKAGES = (*DOMAIN, *FACES)
# Modules of the domain apps that are faces themselves (besides the admin pages each app
# registers): the evidence pack's PDF, drawn with the back office's charts.
DOMAIN_FACES = ("evidence.pdf",)

# No circle is known: the list is kept so a circle found later can be named while it is broken.
KNOWN: set[frozenset[str]] = set()


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imported(name: str, path: Path, known: dict[str, Path], node: ast.AST) -> set[str]:
    """The project modules one import statement names (a name imported from a package counts
    as its submodule when there is one)."""
    targets = []
    if isinstance(node, ast.Import):
        targets = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
            package = package[: len(package) - node.level + 1]
            base = ".".join([*package, base] if base else package)
        targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
    found = set()
    for target in targets:
        while target and target not in known:
            target = target.rpartition(".")[0]
        if target and target != name:
            found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    known = modules()
    graph = {}
    for name, path in known.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        graph[name] = set().union(
            *(imported(name, path, known, node) for node in ast.walk(tree)), set()
        )
    return graph


def circles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(frozenset(group))
    return found


def test_the_graph_reader_finds_a_circle_and_its_members():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [frozenset({"a", "b", "c"})]
    assert circles({"a": {"b"}, "b": set()}) == []


def test_the_graph_holds_the_imports_a_newcomer_sees():
    graph = import_graph()
    assert "tickets.outbox" in graph["sla.scan"]
    assert "tickets.account_mail" in graph["tickets.services.members"]
    assert "tickets.delivery" in graph["tickets.outbox"]


def test_no_import_circle_between_the_projects_modules():
    found = set(circles(import_graph()))
    assert found - KNOWN == set(), f"new import circles: {sorted(map(sorted, found - KNOWN))}"
    assert KNOWN - found == set(), f"broken circles to drop from KNOWN: {KNOWN - found}"


def _a_face(module: str) -> bool:
    return module.split(".")[0] in FACES


def _a_face_in_the_domain(module: str) -> bool:
    return "admin" in module.split(".") or module in DOMAIN_FACES


def test_no_domain_module_imports_a_face():
    """Models, services, selectors (and the scan, the outbox, the report...) never import the
    faces above them: what the back office, the portal, the API and the mail face show, they
    ask the domain for."""
    graph = import_graph()
    upward = {
        (name, target)
        for name, targets in graph.items()
        if name.split(".")[0] in DOMAIN and not _a_face_in_the_domain(name)
        for target in targets
        if _a_face(target)
    }
    assert upward == set(), f"domain modules importing a face: {sorted(upward)}"
