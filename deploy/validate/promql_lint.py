"""PromQL checks shared by the dashboard and the alert rules, against deploy/validate/metrics.yaml.

An expression is parsed (promql-parser, a full PromQL parser), then walked:
- every metric it names is in the list (a histogram by its _bucket, _sum or _count series);
- every label it matches on, groups by or joins on is a label of the metrics beneath (or a target
  label: job, instance; le for buckets);
- rate(), irate() and increase() read counters and histogram series only, a counter is never shown
  without one of them, and histogram_quantile() reads _bucket series;
- a per-database gauge (the queue gauges, which every process reports alike) is never summed;
- the two sides of a one-to-one operation (arithmetic, comparison, and, unless) end with the same
  labels, or name what they match on: otherwise the result is silently empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import promql_parser as pp
import yaml

RANGE_FUNCTIONS = {"rate", "irate", "increase", "resets", "delta", "idelta", "deriv"}
COUNTER_FUNCTIONS = {"rate", "irate", "increase", "resets"}
OVER_TIME = re.compile(r"^[a-z]+_over_time$")
# Functions whose result keeps the labels of their (first) vector argument.
LABEL_KEEPING = {
    "rate", "irate", "increase", "resets", "delta", "idelta", "deriv", "abs", "ceil", "floor", "round",
    "clamp", "clamp_min", "clamp_max", "exp", "ln", "log2", "log10", "sqrt", "sgn", "timestamp",
    "predict_linear", "holt_winters", "sort", "sort_desc", "histogram_quantile", "changes",
    "absent_over_time", "present_over_time", "last_over_time",
}


@dataclass
class Metric:
    name: str
    type: str
    labels: frozenset[str]
    per_database: bool = False


class Catalogue:
    def __init__(self, path: Path, *, allow_prometheus: bool):
        raw = yaml.safe_load(path.read_text())
        self.target_labels = frozenset(raw["target_labels"])
        self.metrics: dict[str, Metric] = {}
        sections = ["metrics"] + (["prometheus"] if allow_prometheus else [])
        for section in sections:
            for name, spec in raw[section].items():
                self.metrics[name] = Metric(
                    name, spec["type"], frozenset(spec["labels"]), bool(spec.get("per_database"))
                )
        self.herald = set(raw["metrics"])

    def series(self, name: str) -> tuple[Metric, str] | None:
        """The metric a series name belongs to, and its suffix for histograms."""
        if name in self.metrics and self.metrics[name].type != "histogram":
            return self.metrics[name], ""
        for suffix in ("_bucket", "_sum", "_count"):
            base = name.removesuffix(suffix)
            if base != name and base in self.metrics and self.metrics[base].type == "histogram":
                return self.metrics[base], suffix
        return None


class Lint:
    def __init__(self, catalogue: Catalogue, where: str, *, raw_counters: bool = False):
        self.c = catalogue
        self.raw_counters = raw_counters
        self.where = where
        self.errors: list[str] = []
        self.used: set[str] = set()

    def error(self, message: str) -> None:
        self.errors.append(f"{self.where}: {message}")

    # Returns the labels an expression's result carries (None: a scalar or unknown).
    def walk(self, e, ctx: tuple[str, ...] = ()) -> frozenset[str] | None:
        kind = type(e).__name__
        if kind == "VectorSelector":
            return self.selector(e, ctx)
        if kind == "MatrixSelector":
            return self.selector(e.vector_selector, ctx)
        if kind == "SubqueryExpr":
            return self.walk(e.expr, ctx + ("subquery",))
        if kind in ("ParenExpr", "UnaryExpr"):
            return self.walk(e.expr, ctx)
        if kind in ("NumberLiteral", "StringLiteral"):
            return None
        if kind == "Call":
            return self.call(e, ctx)
        if kind == "AggregateExpr":
            return self.aggregate(e, ctx)
        if kind == "BinaryExpr":
            return self.binary(e, ctx)
        self.error(f"unexpected PromQL node {kind}")
        return None

    def selector(self, vs, ctx) -> frozenset[str] | None:
        names = [m.value for m in vs.matchers.matchers if m.name == "__name__"]
        name = vs.name or (names[0] if names else None)
        if not name:
            self.error("a selector without a metric name")
            return None
        found = self.c.series(name)
        if found is None:
            self.error(f"{name} is not a metric of deploy/validate/metrics.yaml")
            return None
        metric, suffix = found
        self.used.add(metric.name)
        labels = metric.labels | self.c.target_labels | ({"le"} if suffix == "_bucket" else set())
        for m in vs.matchers.matchers:
            if m.name != "__name__" and m.name not in labels:
                self.error(f"{name} has no label {m.name!r} (it has {sorted(labels)})")
        counting = metric.type == "counter" or suffix in ("_bucket", "_sum", "_count")
        read_raw = self.raw_counters or "absent" in ctx
        if counting and not read_raw and not any(c in COUNTER_FUNCTIONS for c in ctx):
            self.error(f"{name} is a counter: read it through rate(), irate() or increase()")
        if ctx and ctx[-1] in COUNTER_FUNCTIONS and not counting:
            self.error(f"{ctx[-1]}() over {name}, which is a {metric.type}, not a counter")
        if "histogram_quantile" in ctx and metric.type == "histogram" and suffix != "_bucket":
            self.error(f"histogram_quantile() over {name}: use {metric.name}_bucket")
        if metric.per_database and "sum" in ctx:
            self.error(
                f"{name} is read from the database by every process alike: aggregate it with max, not sum"
            )
        return frozenset(labels)

    def call(self, e, ctx) -> frozenset[str] | None:
        name = e.func.name
        results = [self.walk(a, ctx + (name,)) for a in e.args]
        vectors = [r for r in results if r is not None]
        if name == "histogram_quantile":
            inner = results[1] if len(results) > 1 else None
            if inner is not None and "le" not in inner:
                self.error("histogram_quantile() over an aggregation that drops le: group by le")
            return inner - {"le"} if inner is not None else None
        if name == "absent":
            return frozenset()
        if name == "label_replace" and vectors:
            return vectors[0] | {e.args[1].val if hasattr(e.args[1], "val") else ""}
        if name in LABEL_KEEPING or OVER_TIME.match(name):
            return vectors[0] if vectors else None
        if name in ("vector", "scalar", "time"):
            return frozenset() if name == "vector" else None
        return vectors[0] if vectors else None

    def aggregate(self, e, ctx) -> frozenset[str] | None:
        inner = self.walk(e.expr, ctx + (str(e.op),))
        if e.param is not None:
            self.walk(e.param, ctx)
        modifier = e.modifier
        if modifier is None:
            return frozenset()
        labels = frozenset(modifier.labels)
        if inner is not None:
            missing = labels - inner
            if missing and str(modifier.type).endswith("By"):
                self.error(f"{e.op} by ({', '.join(sorted(labels))}) over series without {sorted(missing)}")
        if str(modifier.type).endswith("By"):
            return labels
        return inner - labels if inner is not None else None

    def binary(self, e, ctx) -> frozenset[str] | None:
        lhs = self.walk(e.lhs, ctx)
        rhs = self.walk(e.rhs, ctx)
        op = str(e.op).lower()
        if lhs is None or rhs is None:
            return lhs if lhs is not None else rhs
        m = e.modifier
        matching = m.matching if m is not None else None
        card = str(m.card) if m is not None else ""
        if matching is not None and matching.labels:
            on = frozenset(matching.labels)
            if str(matching.type).endswith("Include"):  # on(…)
                for side, labels in (("left", lhs), ("right", rhs)):
                    if on - labels:
                        self.error(f"on({', '.join(sorted(on))}): the {side} side has no {sorted(on - labels)}")
                compared = None
            else:
                compared = (lhs - on, rhs - on)
        else:
            compared = (lhs, rhs)
        # and/unless match on every label too; or needs no match; group_left/right are many-to-one.
        one_to_one = op in ("and", "unless") or "ManyTo" not in card and "ToMany" not in card
        if compared and one_to_one and op != "or" and compared[0] != compared[1]:
            self.error(
                f"the sides of {e.op} end with different labels ({sorted(compared[0])} and "
                f"{sorted(compared[1])}): nothing matches; group both alike or use on()/ignoring()"
            )
        if m is not None and m.group_labels:
            return lhs | frozenset(m.group_labels)
        return lhs


GRAFANA_DURATIONS = {
    "$__rate_interval": "5m",
    "${__rate_interval}": "5m",
    "$__interval": "1m",
    "${__interval}": "1m",
    "$__range": "1h",
    "${__range}": "1h",
}
GRAFANA_VARIABLE = re.compile(r"\$\{[A-Za-z_]\w*(?::\w+)?\}|\$[A-Za-z_]\w*")


def without_grafana_variables(expr: str) -> str:
    """The expression Prometheus would receive: interval variables as durations, every other variable
    (used inside label matchers) as a regular expression matching anything."""
    for name, value in GRAFANA_DURATIONS.items():
        expr = expr.replace(name, value)
    return GRAFANA_VARIABLE.sub(".*", expr)


def lint(expr: str, catalogue: Catalogue, where: str, *, raw_counters: bool = False) -> Lint:
    """Checks one expression. raw_counters: a counter may be compared as it is (alert rules that
    look for a series that appeared, `x unless x offset 15m`); on a dashboard it is always a rate."""
    result = Lint(catalogue, where, raw_counters=raw_counters)
    try:
        tree = pp.parse(expr)
    except ValueError as e:
        result.error(f"does not parse: {e}: {expr}")
        return result
    result.walk(tree)
    return result
