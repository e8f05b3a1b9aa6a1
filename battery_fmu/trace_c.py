"""A traced function (:func:`battery_fmu.trace.compile_traced`) as C statements, the same operations.

The generated Python of a traced step is straight-line code over floats: arithmetic, comparisons,
conditional expressions, :mod:`math` functions and table look-ups. Each line becomes a C statement
doing the same IEEE operations in the same order (``**`` through ``pow``, as CPython's float power
calls it; the caller compiles without fused multiply-add), so the results agree bit for bit. A
table's index (the walrus of :meth:`battery_fmu.ops.Table1D.scalar_source`) is computed in a
statement of its own before the line that reads it: C leaves the order of an operator's operands
unspecified.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping

_FUNCTIONS = {"_exp": "exp", "_log": "log", "_sqrt": "sqrt", "_tanh": "tanh", "abs": "fabs"}
_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_COMPARE = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}

#: The C helper the translated look-ups on irregular grids call (Python's bisect.bisect_right).
BISECT_C = """static long bisect_right(const double *a, long n, double x) {
    long lo = 0, hi = n;
    while (lo < hi) { long mid = (lo + hi) / 2; if (x < a[mid]) hi = mid; else lo = mid + 1; }
    return lo;
}
"""


def number(value: float) -> str:
    """A float as an exact C literal."""
    value = float(value)
    if math.isnan(value):
        return "NAN"
    if math.isinf(value):
        return "INFINITY" if value > 0 else "(-INFINITY)"
    return f"({value.hex()})"


class Translation:
    """``fn`` (a traced function) as C: :attr:`tables` (file-scope arrays), :attr:`lines` (statements)
    and :attr:`outputs` (the C expressions of its flattened return value).

    ``inputs`` maps each argument name to the C expression of its value, or to a list (nested lists
    for nested tuples) for a tuple argument; ``prefix`` keeps this function's names apart from others'.
    """

    def __init__(self, fn: Callable, prefix: str, inputs: Mapping[str, object]):
        self.prefix, self.globals = prefix, fn.__globals__
        self.names: dict[str, object] = dict(inputs)
        self.tables: list[str] = []
        self.lines: list[str] = []
        self._tables: dict[str, str] = {}
        self._pending: list[str] = []
        function = ast.parse(fn.__source__).body[0]
        self.outputs: list[str] = []
        for statement in function.body:
            if isinstance(statement, ast.Return):
                self.outputs = self._flatten(statement.value)
            elif isinstance(statement.targets[0], ast.Tuple):  # an argument's fields into locals
                values = self.names[statement.value.id]
                for target, value in zip(statement.targets[0].elts, values, strict=True):
                    self.names[target.id] = value
            else:
                name = statement.targets[0].id
                expression = self._expr(statement.value)
                self.lines += self._pending
                self._pending = []
                local = self.names[name] = f"{prefix}{name}"
                self.lines.append(f"double {local} = {expression};")

    def _flatten(self, node: ast.expr) -> list[str]:
        if isinstance(node, ast.Tuple):
            return [item for element in node.elts for item in self._flatten(element)]
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_make":
            return self._flatten(node.args[1])
        return [self._expr(node)]

    def _table(self, name: str) -> str:
        """The C array of the global table ``name`` (declared once)."""
        if name not in self._tables:
            values = self.globals[name]
            self._tables[name] = c_name = f"{self.prefix}{name}"
            self.tables.append(f"static const double {c_name}[{len(values)}] = {{"
                               + ", ".join(number(v) for v in values) + "};")
        return self._tables[name]

    def _expr(self, node: ast.expr) -> str:  # noqa: C901 - one case per node type of the traced code
        if isinstance(node, ast.Name):
            if node.id in self.names:
                return str(self.names[node.id])
            return number(self.globals[node.id])  # a non-finite constant
        if isinstance(node, ast.Constant):
            return number(node.value)
        if isinstance(node, ast.BinOp):
            left, right = self._expr(node.left), self._expr(node.right)
            if isinstance(node.op, ast.Pow):
                return f"pow({left}, {right})"
            return f"({left} {_BINARY[type(node.op)]} {right})"
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return f"(-{self._expr(node.operand)})"
        if isinstance(node, ast.Compare):
            (op,), (right,) = node.ops, node.comparators
            return f"({self._expr(node.left)} {_COMPARE[type(op)]} {self._expr(right)})"
        if isinstance(node, ast.IfExp):
            return f"({self._expr(node.test)} ? {self._expr(node.body)} : {self._expr(node.orelse)})"
        if isinstance(node, ast.Call):
            name = node.func.id
            if name == "int":
                return f"((long)({self._expr(node.args[0])}))"
            if name == "_bisect_right":
                table = node.args[0].id
                return (f"bisect_right({self._table(table)}, {len(self.globals[table])}, "
                        f"{self._expr(node.args[1])})")
            return f"{_FUNCTIONS[name]}({self._expr(node.args[0])})"
        if isinstance(node, ast.NamedExpr):  # a table's index: its own statement first
            index = f"{self.prefix}{node.target.id}_{len(self.lines) + len(self._pending)}"
            self._pending.append(f"long {index} = {self._expr(node.value)};")
            self.names[node.target.id] = index
            return index
        if isinstance(node, ast.Subscript):
            return f"{self._table(node.value.id)}[{self._expr(node.slice)}]"
        raise ValueError(f"no C for {ast.dump(node)}")
