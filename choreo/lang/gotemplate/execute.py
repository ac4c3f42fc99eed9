"""Executes parsed Go templates with the semantics of Go's ``text/template/exec.go``.

Field access on maps, missing keys as Go's invalid value (false in ``if``/``with``/``and``/``or``),
nil-pointer errors on null values, variable scopes, ``range`` over lists, maps (sorted keys) and ints,
``break``/``continue``, ``template`` calls with a fresh variable scope, short-circuit ``and``/``or``,
and Go's execution error form ``<file>:<line>:<col>: executing "<template>" at <<node>>: <message>``.

One deliberate difference for reconcilers: printing a missing key is an error, where Go prints
``<no value>`` into the output; a device config with ``<no value>`` in it is never what was meant. Output
for a reader (``choreo get -o go-template``, as kubectl's) prints it as Go does (``print_missing``).
Execution is bounded by a ``Budget`` (time, output size, nesting of ``template`` calls).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from choreo.lang.gotemplate.errors import TemplateError
from choreo.lang.gotemplate.funcs import ARITY, FUNCS, FuncError
from choreo.lang.gotemplate.gofmt import format_value
from choreo.lang.gotemplate.parse import (
    Action,
    Branch,
    Chain,
    Command,
    Constant,
    Field,
    Identifier,
    LoopControl,
    Node,
    Pipe,
    TemplateCall,
    TemplateSet,
    Text,
    Variable,
)
from choreo.lang.gotemplate.values import MISSING, truth, type_name
from choreo.lang.limits import Budget

NOTHING_TO_PRINT = "no value to print (a missing key or null); test it with if or with"
Functions = dict[str, tuple[Callable[..., Any] | None, tuple[int, bool]]]  # name: implementation, Go's arity
GO_FUNCTIONS: Functions = {name: (FUNCS.get(name), arity) for name, arity in ARITY.items()}  # and/or: none
NO_FINAL: Any = object()  # "no value piped in" (Go's missingVal)


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class Executor:
    """One execution of a template set; not reusable across threads."""

    def __init__(
        self, templates: TemplateSet, budget: Budget, *, print_missing: bool = False, functions: Functions | None = None
    ) -> None:
        self.templates = templates
        self.budget = budget
        self.print_missing = print_missing
        self.functions: Functions = {**GO_FUNCTIONS, **functions} if functions else GO_FUNCTIONS
        self.out: list[str] = []
        self.vars: list[tuple[str, Any]] = []
        self.name = ""

    def execute(self, name: str, data: Any) -> str:
        if name not in self.templates:
            raise TemplateError(f'template: no template {name!r} associated with template set'.replace("'", '"'))
        self.name = name
        self.vars = [("$", data)]
        self.walk(data, self.templates[name])
        return "".join(self.out)

    def fail(self, node: Node, text: str, message: str) -> TemplateError:
        return TemplateError(f'{node.where}: executing "{self.name}" at <{text}>: {message}')

    # --- walking ------------------------------------------------------------------------------------

    def walk(self, dot: Any, nodes: list[Node]) -> None:
        for node in nodes:
            self.budget.check_time(node.where)
            if isinstance(node, Text):
                self.write(node, node.text)
            elif isinstance(node, Action):
                value = self.pipeline(dot, node.pipe)
                if not node.pipe.decl:
                    self.print(node, value)
            elif isinstance(node, Branch):
                self.branch(dot, node)
            elif isinstance(node, TemplateCall):
                self.call_template(dot, node)
            elif isinstance(node, LoopControl):
                raise _Break() if node.kind == "break" else _Continue()

    def write(self, node: Node, text: str) -> None:
        self.budget.add_output(len(text), node.where)
        self.out.append(text)

    def print(self, node: Action, value: Any) -> None:
        if value is MISSING:
            if not self.print_missing:
                raise self.fail(node.pipe, node.pipe.text, NOTHING_TO_PRINT)
            value = "<no value>"
        self.write(node, format_value(value, "v"))

    def branch(self, dot: Any, node: Branch) -> None:
        mark = len(self.vars)
        try:
            value = self.pipeline(dot, node.pipe)
            if node.kind == "range":
                self.range(dot, node, value, mark)
            elif truth(value):
                self.walk(value if node.kind == "with" else dot, node.body)
            elif node.else_body is not None:
                self.walk(dot, node.else_body)
        finally:
            del self.vars[mark:]

    def range(self, dot: Any, node: Branch, value: Any, mark: int) -> None:
        body_mark = len(self.vars)
        empty = True
        for key, elem in self._iteration(node, value):
            empty = False
            self.budget.check_time(node.where)
            self._set_range_vars(node.pipe, key, elem, mark)
            try:
                self.walk(elem, node.body)
            except _Continue:
                pass
            except _Break:
                break
            finally:
                del self.vars[body_mark:]
        if empty and node.else_body is not None:
            self.walk(dot, node.else_body)

    def _iteration(self, node: Branch, value: Any) -> Iterable[tuple[Any, Any]]:
        if isinstance(value, list):
            return enumerate(value)
        if isinstance(value, dict):
            return [(k, value[k]) for k in sorted(value)]
        if isinstance(value, int) and not isinstance(value, bool):
            if len(node.pipe.decl) > 1:
                raise self.fail(node, node.pipe.text, f"can't use {value} to iterate over more than one variable")
            return ((i, i) for i in range(value))
        if value is MISSING or value is None:
            return []
        at = _last_evaluated(node.pipe)
        raise self.fail(at, _text(at, node.pipe.cmds[-1]), f"range can't iterate over {format_value(value, 'v')}")

    def _set_range_vars(self, pipe: Pipe, key: Any, elem: Any, mark: int) -> None:
        if not pipe.decl:
            return
        if pipe.assign:
            if len(pipe.decl) > 1:
                self.set_var(pipe.decl[0], key)
                self.set_var(pipe.decl[1], elem)
            else:
                self.set_var(pipe.decl[0], elem)
            return
        if len(pipe.decl) > 1:
            self.vars[mark] = (pipe.decl[0], key)
            self.vars[mark + 1] = (pipe.decl[1], elem)
        else:
            self.vars[mark] = (pipe.decl[0], elem)

    def call_template(self, dot: Any, node: TemplateCall) -> None:
        body = self.templates.get(node.name)
        if body is None:
            raise self.fail(node, _call_text(node), f'template "{node.name}" not defined')
        value = self.pipeline(dot, node.pipe) if node.pipe is not None else MISSING
        saved = (self.vars, self.name)
        self.vars, self.name = [("$", value)], node.name
        try:
            with self.budget.nested(node.where):
                self.walk(value, body)
        finally:
            self.vars, self.name = saved

    # --- variables ----------------------------------------------------------------------------------

    def lookup(self, node: Node, name: str) -> Any:
        for var, value in reversed(self.vars):
            if var == name:
                return value
        raise self.fail(node, name, f"undefined variable: {name}")

    def set_var(self, name: str, value: Any) -> None:
        for i in range(len(self.vars) - 1, -1, -1):
            if self.vars[i][0] == name:
                self.vars[i] = (name, value)
                return

    # --- pipelines and commands ---------------------------------------------------------------------

    def pipeline(self, dot: Any, pipe: Pipe) -> Any:
        value = NO_FINAL
        for cmd in pipe.cmds:
            value = self.command(dot, cmd, value)
            if value is None:  # a nil interface{} unwraps to Go's invalid value
                value = MISSING
        for name in pipe.decl:
            if pipe.assign:
                self.set_var(name, value)
            else:
                self.vars.append((name, value))
        return value

    def command(self, dot: Any, cmd: Command, final: Any) -> Any:
        first = cmd.args[0]
        if isinstance(first, Field):
            return self.field_chain(dot, dot, first, first.names, cmd, cmd.args, final)
        if isinstance(first, Variable):
            return self.variable(dot, first, cmd, cmd.args, final)
        if isinstance(first, Identifier):
            return self.function(dot, first, cmd, cmd.args[1:], final)
        self._not_a_function(cmd, final)
        if isinstance(first, Chain):
            return self.chain(dot, first, cmd, cmd.args, final)
        if isinstance(first, Pipe):
            return self.pipeline(dot, first)
        assert isinstance(first, Constant)
        if first.kind == "nil":
            raise self.fail(first, cmd.text, "nil is not a command")
        return self.constant(dot, first)

    def _not_a_function(self, cmd: Command, final: Any) -> None:
        if len(cmd.args) > 1 or final is not NO_FINAL:
            first = _text(cmd.args[0], cmd)
            raise self.fail(cmd.args[0], first, f"can't give argument to non-function {first}")

    def chain(self, dot: Any, node: Chain, cmd: Command, args: list[Node], final: Any) -> Any:
        value = self.arg(dot, node.node, cmd)
        if value is None:
            value = MISSING
        return self.field_chain(dot, value, node, node.names, cmd, args, final)

    def variable(self, dot: Any, node: Variable, cmd: Command, args: list[Node], final: Any) -> Any:
        value = self.lookup(node, node.name)
        if not node.names:
            if len(args) > 1 or final is not NO_FINAL:
                self._not_a_function(cmd, final)
            return value
        return self.field_chain(dot, value, node, node.names, cmd, args, final)

    def field_chain(
        self, dot: Any, receiver: Any, node: Node, names: list[str], cmd: Command, args: list[Node], final: Any
    ) -> Any:
        for name in names[:-1]:
            receiver = self.field(receiver, name, node, cmd, [], NO_FINAL)
        return self.field(receiver, names[-1], node, cmd, args, final)

    def field(self, receiver: Any, name: str, node: Node, cmd: Command, args: list[Node], final: Any) -> Any:
        if receiver is MISSING:
            return MISSING
        text = _text(node, cmd)
        if receiver is None:
            raise self.fail(node, text, f"nil pointer evaluating interface {{}}.{name}")
        if isinstance(receiver, dict):
            if len(args) > 1 or final is not NO_FINAL:
                raise self.fail(node, text, f"{name} is not a method but has arguments")
            return receiver.get(name, MISSING)
        typ = "int" if type_name(receiver) == "int" else "interface {}"
        raise self.fail(node, text, f"can't evaluate field {name} in type {typ}")

    def function(self, dot: Any, ident: Identifier, cmd: Command, args: list[Node], final: Any) -> Any:
        name = ident.name
        given = len(args) + (final is not NO_FINAL)
        implementation, (fixed, variadic) = self.functions[name]
        if (variadic and given < fixed) or (not variadic and given != fixed):
            want = f"at least {fixed}" if variadic else str(fixed)
            raise self.fail(ident, name, f"wrong number of args for {name}: want {want} got {given}")
        if name in ("and", "or"):
            return self._and_or(dot, name, cmd, args, final)
        values = [self.arg(dot, arg, cmd) for arg in args]
        if name == "printf" and args:  # Go's printf(format string, ...any): the format is typed
            values[0] = self._string_arg(args[0], values[0], cmd)
        if final is not NO_FINAL:
            if name == "printf" and not args and not isinstance(final, str):
                raise self.fail(cmd, cmd.text, f"wrong type for value; expected string; got {_go_type(final)}")
            values.append(final)
        try:
            assert implementation is not None  # only and/or have none, and they returned above
            return implementation(*values)
        except FuncError as exc:
            raise self.fail(cmd, cmd.text, f"error calling {name}: {exc}") from None

    def _string_arg(self, node: Node, value: Any, cmd: Command) -> str:
        """An argument for a ``string`` parameter, checked as Go's ``evalArg`` checks it."""
        if isinstance(node, Constant):
            if node.kind == "string":
                return str(node.value)
            if node.kind == "nil":
                raise self.fail(node, node.text, "cannot assign nil to string")
            if node.kind != "dot":
                raise self.fail(node, node.text, f"expected string; found {node.text}")
        if isinstance(value, str):
            return value
        raise self.fail(node, _text(node, cmd), f"wrong type for value; expected string; got {_go_type(value)}")

    def _and_or(self, dot: Any, name: str, cmd: Command, args: list[Node], final: Any) -> Any:
        value: Any = MISSING
        for arg in args:
            value = self.arg(dot, arg, cmd)
            if truth(value) == (name == "or"):
                return value
        return final if final is not NO_FINAL else value

    def arg(self, dot: Any, node: Node, cmd: Command) -> Any:
        """An argument's value (Go's ``evalArg`` for ``any``/``reflect.Value`` parameters)."""
        if isinstance(node, Field):
            return self.field_chain(dot, dot, node, node.names, cmd, [node], NO_FINAL)
        if isinstance(node, Variable):
            return self.variable(dot, node, cmd, [node], NO_FINAL)
        if isinstance(node, Pipe):
            return self.pipeline(dot, node)
        if isinstance(node, Identifier):
            return self.function(dot, node, Command(node.where, [node], node.name), [], NO_FINAL)
        if isinstance(node, Chain):
            return self.chain(dot, node, cmd, [node], NO_FINAL)
        assert isinstance(node, Constant)
        return self.constant(dot, node)

    def constant(self, dot: Any, node: Constant) -> Any:
        """A constant's value; an integer constant Go's int cannot hold is an error up to uint64's range and
        Go's invalid value beyond (what ``idealConstant`` does)."""
        if node.kind == "dot":
            return dot
        value = node.value
        if node.kind == "number" and isinstance(value, int) and not -(1 << 63) <= value < 1 << 63:
            if 0 < value < 1 << 64:
                raise self.fail(node, node.text, f"{node.text} overflows int")
            return MISSING
        return value


def _go_type(value: Any) -> str:
    """The Go type of a value as a typed parameter sees it (a nil or missing value is an empty interface)."""
    return "interface {}" if value is None or value is MISSING else type_name(value)


def _last_evaluated(pipe: Pipe) -> Node:
    """The node Go's executor evaluated last in a pipeline (where it reports an error about its value): the
    last command's field, variable or constant, or the last argument of its function."""
    args = pipe.cmds[-1].args
    return args[-1] if isinstance(args[0], Identifier) else args[0]


def _call_text(node: TemplateCall) -> str:
    pipe = f" {node.pipe.text}" if node.pipe is not None else ""
    return f'{{{{template "{node.name}"{pipe}}}}}'


def _text(node: Node, cmd: Command) -> str:
    """Source text of a node for messages (the whole command when a node has none of its own)."""
    if isinstance(node, Field):
        return "." + ".".join(node.names)
    if isinstance(node, Variable):
        return ".".join([node.name, *node.names])
    if isinstance(node, Constant):
        return node.text
    return cmd.text
