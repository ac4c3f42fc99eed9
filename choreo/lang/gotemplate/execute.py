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
        # (name, value, boxed): a value is boxed when Go holds it as an interface {} (a list's element
        # that range handed out), not as its own type (what every pipeline result is)
        self.vars: list[tuple[str, Any, bool]] = []
        self.boxed_dot = False  # dot is a range element (Go's interface {}), not a pipeline's value
        self.name = ""

    def execute(self, name: str, data: Any) -> str:
        if name not in self.templates:
            raise TemplateError(f'template: no template {name!r} associated with template set'.replace("'", '"'))
        self.name = name
        self.vars = [("$", data, False)]
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

    def walk_dot(self, dot: Any, boxed: bool, nodes: list[Node]) -> None:
        """``walk`` with a new dot: a range element (``boxed``) or a pipeline's value."""
        outer, self.boxed_dot = self.boxed_dot, boxed
        try:
            self.walk(dot, nodes)
        finally:
            self.boxed_dot = outer

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
            elif truth(value) and node.kind == "with":
                self.walk_dot(value, False, node.body)
            elif truth(value):
                self.walk(dot, node.body)
            elif node.else_body is not None:
                self.walk(dot, node.else_body)
        finally:
            del self.vars[mark:]

    def range(self, dot: Any, node: Branch, value: Any, mark: int) -> None:
        body_mark = len(self.vars)
        boxed = not isinstance(value, int)  # a list's or map's elements are interface {}s, an int's ints
        empty = True
        for key, elem in self._iteration(node, value):
            empty = False
            self.budget.check_time(node.where)
            self._set_range_vars(node.pipe, key, elem, boxed, mark)
            try:
                self.walk_dot(elem, boxed, node.body)
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
        at = _evaluated_last(node.pipe)
        raise self.fail(at, _text(at, node.pipe.cmds[-1]), f"range can't iterate over {format_value(value, 'v')}")

    def _set_range_vars(self, pipe: Pipe, key: Any, elem: Any, boxed: bool, mark: int) -> None:
        """The range variables: the key (an int index or a string map key) and the element (``boxed``)."""
        if not pipe.decl:
            return
        if pipe.assign:
            if len(pipe.decl) > 1:
                self.set_var(pipe.decl[0], key, False)
                self.set_var(pipe.decl[1], elem, boxed)
            else:
                self.set_var(pipe.decl[0], elem, boxed)
            return
        if len(pipe.decl) > 1:
            self.vars[mark] = (pipe.decl[0], key, False)
            self.vars[mark + 1] = (pipe.decl[1], elem, boxed)
        else:
            self.vars[mark] = (pipe.decl[0], elem, boxed)

    def call_template(self, dot: Any, node: TemplateCall) -> None:
        body = self.templates.get(node.name)
        if body is None:
            raise self.fail(node, _call_text(node), f'template "{node.name}" not defined')
        value = self.pipeline(dot, node.pipe) if node.pipe is not None else MISSING
        saved = (self.vars, self.name)
        self.vars, self.name = [("$", value, False)], node.name
        try:
            with self.budget.nested(node.where):
                self.walk_dot(value, False, body)
        finally:
            self.vars, self.name = saved

    # --- variables ----------------------------------------------------------------------------------

    def lookup(self, node: Node, name: str) -> tuple[Any, bool]:
        """A variable's value and whether it is boxed (see ``vars``)."""
        for var, value, boxed in reversed(self.vars):
            if var == name:
                return value, boxed
        raise self.fail(node, name, f"undefined variable: {name}")

    def set_var(self, name: str, value: Any, boxed: bool = False) -> None:
        for i in range(len(self.vars) - 1, -1, -1):
            if self.vars[i][0] == name:
                self.vars[i] = (name, value, boxed)
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
                self.vars.append((name, value, False))
        return value

    def command(self, dot: Any, cmd: Command, final: Any) -> Any:
        first = cmd.args[0]
        if isinstance(first, Field):
            return self.field_chain(dot, dot, self.boxed_dot, first, first.names, cmd, cmd.args, final)
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
        """``(pipe).a.b``: the fields of the pipeline's value, which Go holds as its own type; an error is
        reported where Go's executor was last, inside the pipeline."""
        value = self.arg(dot, node.node, cmd)
        if value is None:
            value = MISSING
        at = _evaluated_last(node.node)
        return self.field_chain(dot, value, False, at, node.names, Command(at.where, [at], _text(at, cmd)), args, final)

    def variable(self, dot: Any, node: Variable, cmd: Command, args: list[Node], final: Any) -> Any:
        value, boxed = self.lookup(node, node.name)
        if not node.names:
            if len(args) > 1 or final is not NO_FINAL:
                self._not_a_function(cmd, final)
            return value
        return self.field_chain(dot, value, boxed, node, node.names, cmd, args, final)

    def field_chain(
        self, dot: Any, receiver: Any, boxed: bool, node: Node, names: list[str], cmd: Command, args: list[Node],
        final: Any,
    ) -> Any:
        """``receiver.a.b...``: ``boxed`` says how Go holds the receiver (see ``vars``); what a map gives is
        an interface {}."""
        for name in names[:-1]:
            receiver = self.field(receiver, boxed, name, node, cmd, [], NO_FINAL)
            boxed = True
        return self.field(receiver, boxed, names[-1], node, cmd, args, final)

    def field(
        self, receiver: Any, boxed: bool, name: str, node: Node, cmd: Command, args: list[Node], final: Any
    ) -> Any:
        if receiver is MISSING:
            return MISSING
        text = _text(node, cmd)
        if receiver is None:  # only an interface {} holds nil: a pipeline's nil is Go's invalid value
            raise self.fail(node, text, f"nil pointer evaluating interface {{}}.{name}")
        if isinstance(receiver, dict):
            if len(args) > 1 or final is not NO_FINAL:
                raise self.fail(node, text, f"{name} is not a method but has arguments")
            return receiver.get(name, MISSING)
        typ = "interface {}" if boxed else type_name(receiver)
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
                raise self.fail(ident, name, _not_a_string(final))
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
        at = _evaluated_last(node)
        raise self.fail(at, _text(at, cmd), _not_a_string(value))

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
            return self.field_chain(dot, dot, self.boxed_dot, node, node.names, cmd, [node], NO_FINAL)
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


def _not_a_string(value: Any) -> str:
    """Go's ``validateType`` refusing a value for a ``string`` parameter: Go's invalid value (a missing key, a
    pipeline's nil), a nil interface {} (null in the data), or a value of its own type."""
    if value is MISSING:
        return "invalid value; expected string"
    typ = "interface {}" if value is None else type_name(value)
    return f"wrong type for value; expected string; got {typ}"


def _evaluated_last(node: Node) -> Node:
    """The node Go's executor evaluated last in evaluating ``node`` (where it reports an error about its
    value): in a pipeline, the last command's field, variable or constant, or its function's last argument
    (its name when it has none), and within a parenthesized pipeline or chain the same again."""
    while isinstance(node, Pipe | Chain):
        if isinstance(node, Chain):
            node = node.node
            continue
        args = node.cmds[-1].args
        node = args[-1] if isinstance(args[0], Identifier) else args[0]
    return node


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
    if isinstance(node, Identifier) and node is not cmd.args[0]:
        return node.name
    return cmd.text
