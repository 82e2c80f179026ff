"""The sensitivity methods, one record each: what :func:`sample`, :func:`analyze` and the command line read.

A method is a function ``method(f, problem, <design settings>, *, <analysis options>,
<run options>) -> xarray.Dataset`` (the run options are :data:`uqsurrogate.results.RUN_OPTIONS`)
and a :class:`MethodSpec` that says what shapes its design, how :func:`~.external.sample`
records it, and which command-line options it adds.  Each method's module declares its
``SPEC``; ``uqsurrogate/sensitivity/__init__.py`` registers it with one line
(``register(SPEC)``), and from then on ``uqsurrogate sensitivity|sample|analyze --method
NAME``, :func:`~.external.sample`, :func:`~.external.analyze` and :func:`run` know it.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError, InputTypeError
from ..results import RUN_OPTIONS

__all__ = ["METHODS", "REGISTRY", "MethodSpec", "Option", "get", "register", "run", "unregister"]

#: Where an option of a method belongs: it shapes the design (``sensitivity`` and ``sample``) or
#: the analysis (``sensitivity`` and ``analyze``).
STAGES = ("design", "analysis")


@dataclass(frozen=True)
class Option:
    """One command-line option of a method, passed to it as the keyword argument ``keyword``.

    Parameters
    ----------
    flag : str
        ``--name`` on the command line.
    keyword : str
        The method's keyword argument it sets.
    stage : {"design", "analysis"}
        Whether it shapes the design (``sample`` takes it) or the analysis (``analyze`` takes it).
    help : str
        What it does; the command line prefixes the method's name.
    default : object
        The value when it is not given.
    type : callable, optional
        Parses the text (``int``, ``float``); None for text or a switch.
    choices : tuple, optional
    switch : bool, default False
        A flag without a value (``store_true``).
    range : tuple, optional
        ``(type, low, high[, closed])``: the allowed range, checked when parsing.
    """

    flag: str
    keyword: str
    stage: str
    help: str
    default: Any = None
    type: Callable | None = None
    choices: tuple | None = None
    switch: bool = False
    range: tuple | None = None

    @property
    def dest(self) -> str:
        """The attribute of the parsed arguments."""
        return self.flag.lstrip("-").replace("-", "_")


@dataclass(frozen=True)
class MethodSpec:
    """Everything the package needs to know about one sensitivity method.

    Parameters
    ----------
    name : str
        ``--method NAME``; ``attrs["method"]`` of its results and designs.
    function : callable
        ``function(f, problem, **design_settings, **analysis options, **run options) -> Dataset``.
    summary : str
        One line for ``--help``.
    samples : str
        The keyword argument that ``--samples`` sets (``n``, ``n_outer``).
    samples_help : str
        What ``--samples`` means for this method.
    design_settings : mapping
        Defaults of what shapes the design (``sample`` takes exactly these).
    record_options : mapping
        What ``sample`` runs the method with besides the settings (the cheapest analysis).
    options : tuple of Option
        Its own command-line options.
    design_kwargs : callable, optional
        ``design_kwargs(args) -> dict``, the design settings from parsed arguments; by default
        ``--samples`` and the design options.
    model_kwargs : callable, optional
        ``model_kwargs(f, members) -> dict``: keyword arguments that depend on the model the
        command line analyses (nested: which response surfaces to keep).
    design_rows : callable, optional
        ``design_rows(n_varied, settings) -> int``: the rows of its design, so that ``sample``
        refuses a design that would not fit in memory before making it.
    """

    name: str
    function: Callable
    summary: str
    samples: str
    samples_help: str
    design_settings: Mapping[str, Any]
    record_options: Mapping[str, Any] = field(default_factory=dict)
    options: tuple[Option, ...] = ()
    design_kwargs: Callable[[Any], dict] | None = None
    model_kwargs: Callable[[Callable, bool], dict] | None = None
    design_rows: Callable[[int, Mapping[str, Any]], int] | None = None

    def stage_options(self, stage: str) -> tuple[Option, ...]:
        """Its options of one stage ("design" or "analysis")."""
        return tuple(o for o in self.options if o.stage == stage)

    def design_from(self, args: Any) -> dict:
        """The design settings from parsed arguments (``args.samples`` and the design options)."""
        if self.design_kwargs is not None:
            return self.design_kwargs(args)
        return {self.samples: args.samples, **{o.keyword: getattr(args, o.dest) for o in self.stage_options("design")}}

    def analysis_from(self, args: Any) -> dict:
        """The analysis options from parsed arguments."""
        return {o.keyword: getattr(args, o.dest) for o in self.stage_options("analysis")}

    def default(self, keyword: str) -> Any:
        """The function's default of ``keyword`` (e.g. ``resamples``)."""
        return inspect.signature(self.function).parameters[keyword].default


#: The registered methods, by name, in the order registered.
REGISTRY: dict[str, MethodSpec] = {}
#: Their names: a live view of :data:`REGISTRY`.
METHODS = REGISTRY.keys()


def _check(spec: MethodSpec) -> None:
    """The function takes every run option, design setting, record option and option keyword."""
    params = inspect.signature(spec.function).parameters
    need = {*RUN_OPTIONS, *spec.design_settings, *spec.record_options, spec.samples,
            *(o.keyword for o in spec.options)}
    missing = sorted(n for n in need if n not in params
                     or params[n].kind not in (params[n].POSITIONAL_OR_KEYWORD, params[n].KEYWORD_ONLY))
    if missing:
        raise InputError(f"method {spec.name!r}: {spec.function.__name__} takes no keyword argument "
                         f"{', '.join(missing)}; every method takes the run options {', '.join(RUN_OPTIONS)}")
    bad = [o.flag for o in spec.options if o.stage not in STAGES or not o.flag.startswith("--")]
    if bad:
        raise InputError(f"method {spec.name!r}: options {bad} need a --flag and a stage in {STAGES}")


def register(spec: MethodSpec) -> MethodSpec:
    """Add a method; its name must be new.

    Returns
    -------
    MethodSpec
        ``spec``.
    """
    if not isinstance(spec, MethodSpec):
        raise InputTypeError(f"spec: a MethodSpec, not {type(spec).__name__}")
    if spec.name in REGISTRY:
        raise InputError(f"method {spec.name!r} is registered already; unregister it first")
    _check(spec)
    REGISTRY[spec.name] = spec
    return spec


def unregister(name: str) -> MethodSpec:
    """Remove a method; returns its spec."""
    return REGISTRY.pop(get(name).name)


def get(name: str) -> MethodSpec:
    """The spec of a registered method."""
    if name not in REGISTRY:
        raise InputError(f"method = {name!r}; allowed: {', '.join(REGISTRY)}")
    return REGISTRY[name]


def run(method: str, f: Callable, problem: Any, **kwargs: Any) -> Any:
    """Run a registered method by name: ``run("sobol", f, problem, n=1024, seed=0)``.

    Returns
    -------
    xarray.Dataset
        What the method returns.
    """
    return get(method).function(f, problem, **kwargs)
