"""Module structure: a module is src/X.c together with include/qrbm/X.h; X depends on Y when either
file includes <qrbm/Y.h>. The dependency graph must be acyclic so that every module can be read,
tested and changed below the ones that use it (docs/architecture.md)."""
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parent.parent
INCLUDE = re.compile(r'^\s*#\s*include\s*<qrbm/(\w+)\.h>', re.M)


def module_graph(root=ROOT):
    files = list((root / "src").glob("*.c")) + list((root / "include" / "qrbm").glob("*.h"))
    graph = {}
    for f in files:
        deps = graph.setdefault(f.stem, set())
        deps.update(m for m in INCLUDE.findall(f.read_text()) if m != f.stem)
    return graph


def find_cycle(graph):
    """A list of modules forming a cycle (first == last), or None."""
    state, stack = {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for n in sorted(graph.get(m, ())):
            if state.get(n) == "open":
                return stack[stack.index(n):] + [n]
            if n not in state:
                cycle = visit(n)
                if cycle:
                    return cycle
        stack.pop()
        state[m] = "done"
        return None

    for m in sorted(graph):
        if m not in state:
            cycle = visit(m)
            if cycle:
                return cycle
    return None


def test_find_cycle_detects_cycles():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_graph_reads_includes(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "include" / "qrbm").mkdir(parents=True)
    (tmp_path / "src" / "x.c").write_text("#include <qrbm/x.h>\n#include <qrbm/y.h>\n#include <stdio.h>\n")
    (tmp_path / "include" / "qrbm" / "y.h").write_text("#pragma once\n  #  include <qrbm/x.h>\n")
    graph = module_graph(tmp_path)
    assert graph == {"x": {"y"}, "y": {"x"}}
    assert find_cycle(graph) == ["x", "y", "x"]


def test_no_include_cycle_among_modules():
    graph = module_graph()
    assert {"checkpoint", "ensemble", "report", "stats", "signals"} <= graph.keys()
    assert find_cycle(graph) is None, "include cycle among modules: " + " -> ".join(find_cycle(graph))


def test_checkpoint_and_report_do_not_know_the_run():
    """The checkpoint and the report get plain structs, not the run driver (QrbmRun)."""
    graph = module_graph()
    for m in ("checkpoint", "report", "stats", "signals"):
        assert "ensemble" not in graph[m], m
        for f in (ROOT / "src" / f"{m}.c", ROOT / "include" / "qrbm" / f"{m}.h"):
            assert "QrbmRun " not in f.read_text() and "QrbmRun*" not in f.read_text(), f
