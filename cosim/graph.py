"""Execution order from the data flow: topological sort, with algebraic loops found and named.

A unit's outputs are taken to depend directly on its inputs (direct feed-through) unless the
unit says ``direct_feedthrough = False`` or the connection carries ``delay: 1``. Those edges
define the order in which Gauss-Seidel steps the units; a cycle of them is an algebraic loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


# One function keeps the iterative Tarjan algorithm readable as written in the literature.
def strongly_connected(nodes: Sequence[str], edges: Iterable[tuple[str, str]]) -> list[list[str]]:  # noqa: C901
    """Strongly connected components (Tarjan), each in ``nodes`` order, components in topological order.

    Parameters
    ----------
    nodes : sequence of str
        Node names; their order breaks ties so the result is deterministic.
    edges : iterable of (str, str)
        ``(a, b)`` means ``a`` must run before ``b``.
    """
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    for a, b in edges:
        if b not in succ[a]:
            succ[a].append(b)
    rank = {n: i for i, n in enumerate(nodes)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0

    def visit(root: str) -> None:
        # Iterative Tarjan: deep chains of units must not hit Python's recursion limit.
        nonlocal counter
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            nexts = succ[node]
            if i < len(nexts):
                work.append((node, i + 1))
                nxt = nexts[i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                comp = []
                while True:
                    m = stack.pop()
                    on_stack.discard(m)
                    comp.append(m)
                    if m == node:
                        break
                found.append(sorted(comp, key=rank.__getitem__))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])

    for n in nodes:
        if n not in index:
            visit(n)
    # Tarjan emits components in reverse topological order; among independent components keep
    # the declaration order so that the execution order is stable and readable.
    return _stable_topological(list(reversed(found)), succ, rank)


def _stable_topological(
    comps: list[list[str]], succ: dict[str, list[str]], rank: dict[str, int]
) -> list[list[str]]:
    owner = {n: i for i, comp in enumerate(comps) for n in comp}
    indegree = [0] * len(comps)
    comp_succ: list[set[int]] = [set() for _ in comps]
    for a, targets in succ.items():
        for b in targets:
            ca, cb = owner[a], owner[b]
            if ca != cb and cb not in comp_succ[ca]:
                comp_succ[ca].add(cb)
                indegree[cb] += 1
    ready = sorted((i for i, d in enumerate(indegree) if d == 0), key=lambda i: rank[comps[i][0]])
    order: list[list[str]] = []
    while ready:
        i = ready.pop(0)
        order.append(comps[i])
        for j in comp_succ[i]:
            indegree[j] -= 1
            if indegree[j] == 0:
                ready.append(j)
        ready.sort(key=lambda i: rank[comps[i][0]])
    return order


def is_loop(component: Sequence[str], edges: Iterable[tuple[str, str]]) -> bool:
    """Whether a component is an algebraic loop (more than one node, or a node feeding itself)."""
    if len(component) > 1:
        return True
    only = component[0]
    return any(a == only and b == only for a, b in edges)


def describe_cycle(component: Sequence[str], edges: Iterable[tuple[str, str]]) -> str:
    """One cycle through a loop component, written ``a -> b -> a``."""
    members = set(component)
    succ: dict[str, list[str]] = {n: [] for n in component}
    for a, b in edges:
        if a in members and b in members:
            succ[a].append(b)
    start = component[0]
    # Breadth-first search back to the start gives the shortest cycle through it.
    parent: dict[str, str] = {}
    frontier = [start]
    while frontier:
        nxt_frontier = []
        for node in frontier:
            for nxt in succ[node]:
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parent[path[-1]])
                    return (
                        " -> ".join([start, *reversed(path[:-1]), start])
                        if node != start
                        else f"{start} -> {start}"
                    )
                if nxt not in parent:
                    parent[nxt] = node
                    nxt_frontier.append(nxt)
        frontier = nxt_frontier
    return " -> ".join([*component, component[0]])
