"""The Jinja2 environment marketers' templates run in: immutable and bounded.

Jinja's sandbox keeps a template away from Python internals but not from the machine's
CPU and memory: `"x" * 10**8`, nested loops over long strings or a width of a billion
would hold a web request or a campaign worker for as long as they like. Every render
therefore runs against a `RenderBudget`: values made by operators, calls and filters,
loop iterations, output, all the characters made in total and the wall time are counted
at the sandbox's hooks, and a render over a limit stops with `TemplateLimitExceeded`.
The checks run in the render's own thread (no signals, no timer threads), so they work
in any web server and in forked RQ workers alike. The limits are generous for real
newsletters; the README states them.
"""

from __future__ import annotations

import functools
import re
import string
import time
from collections.abc import Iterator, Mapping, Set
from contextlib import contextmanager
from contextvars import ContextVar
from numbers import Number

from jinja2 import nodes
from jinja2.compiler import CodeGenerator
from jinja2.exceptions import TemplateError, TemplateRuntimeError
from jinja2.runtime import LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import pass_context

MAX_OUTPUT_CHARS = 2_000_000  # the rendered text, and any one value made on the way
MAX_CHARS_MADE = 20_000_000  # all values and output made in one render together
MAX_LOOP_ITERATIONS = 100_000  # all loops of one render together
MAX_ITEMS = 100_000  # items of any one list or mapping made on the way, nested ones too
MAX_RENDER_SECONDS = 2.0
MAX_NUMBER_BITS = 4_096  # about 1,200 digits

_LOOP_GUARD = "_loop_guard"


class TemplateLimitExceeded(TemplateRuntimeError):
    """A render went over one of the limits; the message says which."""


class RenderBudget:
    """What one render may still use; the hooks below charge it."""

    def __init__(self, seconds: float | None = None):
        seconds = MAX_RENDER_SECONDS if seconds is None else seconds
        self.deadline = time.monotonic() + seconds
        self.seconds = seconds
        self.iterations = 0
        self.chars_made = 0

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise TemplateLimitExceeded(
                f"The template takes longer than {self.seconds:g} seconds to render."
            )

    def iteration(self) -> None:
        self.iterations += 1
        if self.iterations > MAX_LOOP_ITERATIONS:
            raise TemplateLimitExceeded(
                f"The template's loops run more than {MAX_LOOP_ITERATIONS:,} times."
            )
        self.tick()

    def require(self, size: int) -> None:
        """Refuse to make a value of about `size` characters before making it."""
        if size > MAX_OUTPUT_CHARS:
            raise TemplateLimitExceeded(
                f"The template makes a text of more than {MAX_OUTPUT_CHARS:,} characters "
                f"or a list of more than {MAX_ITEMS:,} items."
            )

    def made(self, value):
        """Charge a value that was made; returns it."""
        if isinstance(value, str):
            size = len(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            if value.bit_length() > MAX_NUMBER_BITS:
                raise TemplateLimitExceeded("The template makes a number that is too large.")
            return value
        else:
            size = weight(value)
        self.require(size)
        self.chars_made += size
        if self.chars_made > MAX_CHARS_MADE:
            raise TemplateLimitExceeded(
                f"The template makes more than {MAX_CHARS_MADE:,} characters in all."
            )
        if time.monotonic() > self.deadline:
            self.tick()
        return value


_active: ContextVar[RenderBudget | None] = ContextVar("template_render_budget", default=None)


@contextmanager
def render_budget() -> Iterator[RenderBudget]:
    budget = RenderBudget()
    token = _active.set(budget)
    try:
        yield budget
    finally:
        _active.reset(token)


def _budget() -> RenderBudget:
    # Outside a render (Jinja folds constant expressions while compiling) a fresh budget
    # still bounds each single value.
    return _active.get() or RenderBudget()


def weight(value, limit: int = MAX_OUTPUT_CHARS) -> int:
    """About how many characters `value` is when written out: a list holding one long
    text a million times weighs a million texts. Past `limit`, or past MAX_ITEMS items
    and texts in all, the count stops at limit + 1, so checking costs little."""
    total = 0
    items = 0
    pending = [value]
    while pending:
        items += 1
        if total > limit or items > MAX_ITEMS:
            return limit + 1
        item = pending.pop()
        if isinstance(item, str | bytes):
            total += len(item)
        elif isinstance(item, int) and not isinstance(item, bool):
            total += item.bit_length() // 3
        elif isinstance(item, Mapping):
            total += len(item)
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple | Set):
            total += len(item)
            pending.extend(item)
        else:
            total += 1
    return total


# --- what an operation would make, estimated before it runs ----------------------------

_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d*)(?:\.(\*|\d*))?")
_FORMAT_NUMBER = re.compile(r"\d+")


def _percent_format_size(template: str, args) -> int:
    """`template % args` (and the `format` filter): the widths it asks for plus its
    arguments written out."""
    size = len(template) + 4 * weight(args)
    for width, precision in _PERCENT_SPEC.findall(template):
        if "*" in (width, precision):
            raise TemplateLimitExceeded("A width taken from the arguments (*) is not allowed.")
        size += int(width or 0) + int(precision or 0)
    return size


def _brace_format_size(template: str, args, kwargs) -> int:
    """`template.format(...)`: the widths in its format specs plus its arguments."""
    size = len(template) + 4 * (weight(args) + weight(kwargs))
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError:
        return size  # format() itself reports the broken template
    for _literal, _field, spec, _conversion in fields:
        if spec and "{" in spec:
            raise TemplateLimitExceeded("A width taken from the arguments is not allowed.")
        size += sum(int(number) for number in _FORMAT_NUMBER.findall(spec or ""))
    return size


def _replace_size(text: str, old, new, count=-1) -> int:
    if not isinstance(old, str) or not isinstance(new, str):
        return len(text)
    matches = len(text) + 1 if old == "" else text.count(old)
    if isinstance(count, int) and count >= 0:
        matches = min(matches, count)
    return len(text) + matches * len(new)


def _join_size(separator, items) -> int:
    separator = separator if isinstance(separator, str) else ""
    return weight(items) + max(len(items) - 1, 0) * len(separator)


def _width(value, default=0) -> int:
    return value if isinstance(value, int) else len(value) if isinstance(value, str) else default


def _strings_in(args, kwargs) -> int:
    return sum(len(a) for a in (*args, *kwargs.values()) if isinstance(a, str))


def _method_size(text: str, name: str, args, kwargs) -> int | None:
    """The size a str method would make, for the methods that can make more than they get."""
    if name in ("center", "ljust", "rjust", "zfill"):
        return max(len(text), _width(args[0] if args else kwargs.get("width")))
    if name == "expandtabs":
        tabsize = args[0] if args else kwargs.get("tabsize", 8)
        return len(text) + text.count("\t") * max(_width(tabsize, 8), 0)
    if name == "replace":
        return _replace_size(text, *args, **kwargs)
    if name == "join":
        return _join_size(text, args[0] if args else ())
    if name in ("format", "format_map"):
        return _brace_format_size(text, args, kwargs)
    if name == "translate":
        return len(text) * (1 + _strings_in(args, {}))
    return None


def _filter_size(name: str, value, args, kwargs) -> int | None:
    """The size a built-in filter would make, for the filters that can make more than
    they get; also refuses arguments that make a filter do unbounded work."""
    text = value if isinstance(value, str) else ""
    if name == "center":
        return max(len(text), _width(args[0] if args else kwargs.get("width", 80)))
    if name == "indent":
        width = _width(args[0] if args else kwargs.get("width", 4), 4)
        return len(text) + (text.count("\n") + 1) * max(width, 0)
    if name == "format":
        return _percent_format_size(text, kwargs or args)
    if name == "replace":
        return _replace_size(str(value), *args, **kwargs)
    if name == "join":
        separator = args[0] if args else kwargs.get("d", "")
        return _join_size(separator, value)
    if name in ("batch", "slice"):
        count = args[0] if args else kwargs.get("linecount", kwargs.get("slices", 1))
        if isinstance(count, int) and count > MAX_ITEMS:
            raise TemplateLimitExceeded(f"The {name} filter makes more than {MAX_ITEMS:,} groups.")
        return None
    if name == "sum":
        start = args[1] if len(args) > 1 else kwargs.get("start", 0)
        if not isinstance(start, Number):
            # Adding up lists or texts copies the sum so far at every step.
            raise TemplateLimitExceeded("The sum filter adds numbers only.")
        return None
    if name in ("wordwrap", "urlize"):
        return len(str(value)) * (1 + _strings_in(args, kwargs))
    return None


_SIZED = (str, list, tuple, Set, Mapping)


def _numeric(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _binop_size(operator: str, left, right) -> None:
    """Refuse an operation whose result would be over the limits, before it is made."""
    budget = _budget()
    if operator == "*":
        for sequence, times in ((left, right), (right, left)):
            if isinstance(times, int) and not _numeric(sequence):
                budget.require(weight(sequence) * max(times, 0))
        both_int = isinstance(left, int) and isinstance(right, int)
        if both_int and left.bit_length() + right.bit_length() > MAX_NUMBER_BITS:
            raise TemplateLimitExceeded("The template makes a number that is too large.")
    elif operator == "**":
        growing = isinstance(left, int) and isinstance(right, int) and right > 0
        # The result has at least (bits - 1) * right bits; made() checks the rest.
        if growing and (left.bit_length() - 1) * right > MAX_NUMBER_BITS:
            raise TemplateLimitExceeded("The template makes a number that is too large.")
    elif operator == "+" and not (_numeric(left) and _numeric(right)):
        budget.require(weight(left) + weight(right))
    elif operator == "%" and isinstance(left, str):
        budget.require(_percent_format_size(left, right))


# --- the environment -------------------------------------------------------------------


def _guard_iterable(iterable):
    """Charge every loop iteration; wraps the iterable of every `{% for %}`."""
    budget = _budget()
    for item in iterable:
        budget.iteration()
        yield item


@pass_context
def _loop_guard(_context, iterable):
    # pass_context keeps Jinja from calling it while compiling (constant folding).
    return _guard_iterable(iterable)


class _BoundedCodeGenerator(CodeGenerator):
    """Jinja's code generator with every loop's iterable guarded and every `~` checked."""

    def visit_Template(self, node: nodes.Template, frame=None) -> None:
        # Before any code is written: Jinja collects the filters a template uses first.
        for loop in node.find_all(nodes.For):
            loop.iter = nodes.Filter(loop.iter, _LOOP_GUARD, [], [], None, None, lineno=loop.lineno)
        super().visit_Template(node, frame)

    def visit_Concat(self, node: nodes.Concat, frame) -> None:
        if frame.eval_ctx.volatile:
            join = "(markup_join if context.eval_ctx.volatile else str_join)"
        elif frame.eval_ctx.autoescape:
            join = "markup_join"
        else:
            join = "str_join"
        self.write(f"environment.checked_join({join}, (")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


def _bounded_filter(name: str, function):
    takes_first = getattr(function, "jinja_pass_arg", None) is not None

    @functools.wraps(function)
    def bounded(*args, **kwargs):
        budget = _budget()
        budget.tick()
        value, rest = (args[1], args[2:]) if takes_first else (args[0], args[1:])
        if name == "join" and not isinstance(value, _SIZED):
            value = list(value)
            args = (*args[:1], value, *rest) if takes_first else (value, *rest)
        size = _filter_size(name, value, rest, kwargs)
        if size is not None:
            budget.require(size)
        return budget.made(function(*args, **kwargs))

    return bounded


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox (no `customer.pop(...)` on shared data) with the limits of
    `RenderBudget` charged at every operator, call, attribute, loop and output."""

    code_generator_class = _BoundedCodeGenerator
    intercepted_binops = frozenset(("+", "-", "*", "/", "//", "%", "**"))

    def __init__(self, **options):
        super().__init__(finalize=self._charge_output, **options)
        # cycler, joiner, lipsum, namespace, range, dict: nothing a newsletter needs, and
        # each is a door an SSTI payload would try (cycler.__init__.__globals__).
        self.globals.clear()
        self.filters = {name: _bounded_filter(name, f) for name, f in self.filters.items()}
        self.filters[_LOOP_GUARD] = _loop_guard

    def add_filters(self, filters: Mapping) -> None:
        """More filters, charged to the render budget like Jinja's own."""
        self.filters.update({name: _bounded_filter(name, f) for name, f in filters.items()})

    @staticmethod
    def _charge_output(value):
        # Every {{ ... }} is escaped or converted into a new text: charge it even when it
        # lands in a macro's or a {% set %} block's buffer rather than in the output.
        _budget().made(value)
        return value

    def call_binop(self, context, operator, left, right):
        _binop_size(operator, left, right)
        return _budget().made(super().call_binop(context, operator, left, right))

    def call(__self, __context, __obj, *args, **kwargs):  # noqa: N805 - Jinja's signature
        budget = _budget()
        budget.tick()
        method = getattr(__obj, "__wrapped__", __obj)  # str.format comes wrapped
        target = getattr(method, "__self__", None)
        if isinstance(target, str):
            name = getattr(method, "__name__", "")
            if name == "join" and args and not isinstance(args[0], _SIZED):
                args = (list(args[0]), *args[1:])  # measured, then joined
            size = _method_size(target, name, args, kwargs)
            if size is not None:
                budget.require(size)
        if isinstance(__obj, LoopContext) and args:
            # A recursive loop's loop(children) runs the loop body again.
            args = (_guard_iterable(args[0]), *args[1:])
        return budget.made(super().call(__context, __obj, *args, **kwargs))

    def checked_join(self, join, values: tuple):
        budget = _budget()
        budget.require(sum(weight(value) for value in values))
        return budget.made(join(values))

    def concat(self, parts) -> str:  # noqa: D102 - replaces Environment.concat ("".join)
        """The text of a template or of a block's buffer, refused as soon as it grows over
        the output limit."""
        budget = _budget()
        pieces: list[str] = []
        size = 0
        append = pieces.append
        for piece in parts:
            size += len(piece)
            if size > MAX_OUTPUT_CHARS:
                budget.require(size)
            append(piece)
        return budget.made("".join(pieces))


def render_text(env: BoundedSandbox, source: str, context: Mapping) -> str:
    """`source` rendered with `context` under a budget of its own."""
    with render_budget():
        return env.from_string(source).render(context)


# What a template written by a user can raise while rendering.
RENDER_ERRORS = (TemplateError, TypeError, ValueError, ArithmeticError, LookupError, AttributeError)


def error_detail(exc: Exception) -> tuple[int | None, str]:
    """Where and why a render failed: (line or None, detail)."""
    if isinstance(exc, TemplateError):
        return getattr(exc, "lineno", None), exc.message or type(exc).__name__
    return None, f"{type(exc).__name__}: {exc}"


def render_problem(env: BoundedSandbox, source: str, context: Mapping) -> tuple[int | None, str]:
    """Why `source` does not compile or render with `context`, as (line, detail); a
    (None, "") when it does. A trial render on save, so a broken template is refused
    where it is written rather than where it is used."""
    try:
        render_text(env, source, context)
    except RENDER_ERRORS as exc:
        return error_detail(exc)
    return None, ""
