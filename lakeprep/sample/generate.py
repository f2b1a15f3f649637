"""Deterministic sample raw files for the retail domain, written in parallel by Spark.

Every value is a pure function of (seed, entity, field, row number) through ``xxhash64``, and the
rows of each file are a fixed range of row numbers, so the same arguments give byte-identical
files whatever the number of cores. Defects are injected at small seeded rates and counted by
Spark while the files are written.

Example::

    report = generate(spark, "/tmp/retail", customers=200)
    report.batch("orders", 1).files
    # -> ['/tmp/retail/orders/batch_1/part-00000.jsonl']
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime

from py4j.protocol import Py4JError
from pyspark.sql import DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from lakeprep.errors import LakeprepError, UsageError
from lakeprep.storage import list_files
from lakeprep.uris import is_remote

log = logging.getLogger(f"lakeprep.{__name__}")

ENTITIES = ("customers", "orders", "web_events")
DEFECT_KINDS = (
    "null_value",
    "exact_duplicate",
    "duplicate_key",
    "malformed",
    "wrong_type",
    "negative_amount",
    "future_timestamp",
    "unknown_category",
    "null_key",
    "unknown_customer",
)
# Share of rows (per entity) that carry each defect; one defect at most per line.
DEFECT_RATES: dict[str, dict[str, float]] = {
    "customers": {
        "null_value": 0.02, "exact_duplicate": 0.01, "duplicate_key": 0.01, "malformed": 0.005,
        "wrong_type": 0.01, "future_timestamp": 0.005, "unknown_category": 0.01, "null_key": 0.003,
    },
    "orders": {
        "null_value": 0.015, "exact_duplicate": 0.01, "duplicate_key": 0.01, "malformed": 0.005,
        "wrong_type": 0.01, "negative_amount": 0.005, "future_timestamp": 0.005,
        "unknown_category": 0.01, "null_key": 0.002, "unknown_customer": 0.01,
    },
    "web_events": {
        "null_value": 0.015, "exact_duplicate": 0.01, "duplicate_key": 0.005, "malformed": 0.005,
        "wrong_type": 0.005, "future_timestamp": 0.005, "unknown_category": 0.01,
        "null_key": 0.002, "unknown_customer": 0.01,
    },
}
ROWS_PER_FILE = 1_000_000
UPDATE_RATE = 0.1  # share of earlier customers that a later customers batch updates
NEVER_ORDER_RATE = 0.15  # share of customers that orders avoid
FUTURE_AFTER_DAYS = 366  # "future" timestamps lie beyond start + days + this many days

COUNTRIES = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "SE", "PL", "CA")
COUNTRY_WEIGHTS = (30, 12, 12, 10, 7, 7, 5, 4, 5, 8)
COUNTRY_CURRENCY = ("USD", "GBP", "EUR", "EUR", "EUR", "EUR", "EUR", "EUR", "EUR", "USD")
SEGMENTS = ("consumer", "small_business", "enterprise")
CATEGORIES = ("books", "electronics", "grocery", "home", "toys", "fashion", "sports", "beauty")
CATEGORY_WEIGHTS = (14, 12, 22, 12, 8, 16, 8, 8)
CATEGORY_PRICE_CENTS = (1500, 12000, 3500, 4500, 2500, 4000, 5000, 2200)
STATUSES = ("placed", "shipped", "delivered", "returned", "cancelled")
EVENT_TYPES = ("page_view", "search", "add_to_cart", "checkout", "login")
DEVICES = ("desktop", "mobile", "tablet")
LOYALTY_TIERS = ("bronze", "silver", "gold", "platinum")
UNKNOWN_CATEGORY = {
    "customers": ("UK", "XX", "USA"),
    "orders": ("gadgets", "garden", "music"),
    "web_events": ("scroll", "purchase", "hover"),
}

_FIRST_NAMES = (
    "Anna", "Ben", "Chloé", "David", "Elif", "Finn", "Grace", "Hugo", "Ines", "Jakub", "Kai",
    "Lena", "Marco", "Nora", "Oscar", "Paula", "Quentin", "Rosa", "Sven", "Tara", "Umar",
    "Vera", "William", "Xenia", "Yusuf", "Zoë", "Łukasz", "Maja", "Noah", "Olivia", "Emma",
    "Liam", "Sofia", "Lucas", "Mia", "Elias", "Julia", "Mateo", "Ava", "Leon",
)
_LAST_NAMES = (
    "Smith", "Jones", "Müller", "Schmidt", "Martin", "Bernard", "García", "López", "Rossi",
    "Russo", "de Vries", "Jansen", "Andersson", "Nilsson", "Kowalski", "Nowak", "O'Brien",
    "Brown", "Taylor", "Wilson", "Dubois", "Moreau", "Fernández", "Bianchi", "Bakker",
    "Johansson", "Wiśniewski", "Tremblay", "Roy", "Walker",
)
_EMAIL_DOMAINS = ("example.com", "mail.example", "post.example.org", "inbox.example.net")
_ACCENTS, _PLAIN = "éëüöíáóńśŁł' ", "eeuoiaonsLl"  # chars beyond _PLAIN's length are dropped
_NUMBER_WORDS = ("one", "two", "three", "four", "five")
_COUPONS = ("SPRING10", "WELCOME5", "FREESHIP", "VIP20")
# Relative order rates by weekday (Monday first) and by UTC hour; weekends and evenings peak.
_WEEKDAY_WEIGHT = (0.9, 0.85, 0.9, 0.95, 1.1, 1.35, 1.25)
_HOUR_WEIGHT = (
    0.25, 0.15, 0.1, 0.1, 0.1, 0.15, 0.3, 0.5, 0.7, 0.85, 0.95, 1.0,
    1.05, 1.0, 0.95, 0.95, 1.0, 1.1, 1.3, 1.45, 1.5, 1.3, 0.9, 0.5,
)
_DAY = 86_400
_SESSION_BLOCK = 10  # web events come in blocks of 10 rows, each block split into two sessions

CUSTOMER_COLUMNS = (
    "customer_id", "full_name", "email", "country", "segment", "signup_ts", "birth_year",
    "updated_at",
)
ORDER_COLUMNS = (
    "order_id", "customer_id", "order_ts", "amount", "currency", "category", "quantity", "status",
)
EVENT_COLUMNS = (
    "event_id", "customer_id", "event_ts", "event_type", "page", "session_id", "device",
)


@dataclass
class BatchReport:
    """What one batch of one entity holds: its files, data lines and defect counts by kind."""

    entity: str
    batch: int
    path: str
    files: list[str]
    lines: int
    columns: list[str]
    extra_columns: list[str]
    defects: dict[str, int]
    updates: int = 0  # customers: lines updating an earlier batch's customer (key not null)

    @property
    def defect_lines(self) -> int:
        return sum(self.defects.values())


@dataclass
class SampleReport:
    """Everything `generate` wrote, with exact counts.

    Example::

        report.batch("customers", 2).defects["malformed"]
        # -> 4
    """

    out: str
    seed: int
    parameters: dict[str, object]
    batches: list[BatchReport] = field(default_factory=list)

    def batch(self, entity: str, number: int) -> BatchReport:
        for item in self.batches:
            if item.entity == entity and item.batch == number:
                return item
        known = sorted({(b.entity, b.batch) for b in self.batches})
        raise UsageError(f"no batch {number} of {entity!r} in this report; it holds {known}")

    def lines(self, entity: str) -> int:
        return sum(b.lines for b in self.batches if b.entity == entity)

    def defects(self, entity: str) -> dict[str, int]:
        totals: dict[str, int] = {}
        for b in self.batches:
            if b.entity == entity:
                for kind, count in b.defects.items():
                    totals[kind] = totals.get(kind, 0) + count
        return totals

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    def summary(self) -> str:
        head = (
            f"sample retail data in {self.out} (seed {self.seed}, "
            f"{self.parameters['customers']} customers, {self.parameters['batches']} batches)"
        )
        rows = [head, f"{'entity':<11} {'batch':>5} {'files':>5} {'lines':>11} {'defects':>8}"]
        for b in self.batches:
            rows.append(
                f"{b.entity:<11} {b.batch:>5} {len(b.files):>5} {b.lines:>11,} "
                f"{b.defect_lines:>8,}"
            )
            details = ", ".join(f"{k} {v:,}" for k, v in b.defects.items() if v)
            if b.updates:
                details = f"updates {b.updates:,}; " + details
            if b.extra_columns:
                details += f"; extra columns {', '.join(b.extra_columns)}"
            if details:
                rows.append(f"{'':<11}   {details}")
        return "\n".join(rows)


def generate(
    spark: SparkSession,
    out: str,
    customers: int = 2000,
    orders_per_customer: float = 8,
    events_per_customer: float = 25,
    batches: int = 2,
    seed: int = 42,
    start: date | str = "2026-01-01",
    days: int = 180,
    defects: bool = True,
    *,
    overwrite: bool = False,
    rows_per_file: int = ROWS_PER_FILE,
) -> SampleReport:
    """Write customers CSV, orders and web_events JSON lines under ``out``, in parallel.

    Example::

        report = generate(spark, "s3://bucket/raw", customers=100_000)
        print(report.summary())

    Files land in ``out/<entity>/batch_<n>/part-<i>.<csv|jsonl>``. Batch n of orders and events
    covers a later time slice than batch n-1; customers batch n (n >= 2) holds new customers and
    updates of earlier ones. With ``defects`` the data carries the defects counted in the report,
    and batches from 2 on carry an extra column; without it the data is clean and the schema
    stable. Existing non-empty batch folders are refused unless ``overwrite``.
    """
    plan = _Plan.build(
        out, customers, orders_per_customer, events_per_customer, batches, seed, start, days,
        defects, rows_per_file,
    )
    fs = _FileSystem(spark, plan.out)
    for entity in ENTITIES:
        for number in range(1, batches + 1):
            target = plan.batch_dir(entity, number)
            if not overwrite and fs.non_empty(target):
                raise UsageError(
                    f"{target} already holds files; expected a missing or empty folder. "
                    "Pass overwrite=True (CLI: --overwrite) to replace it."
                )
    report = SampleReport(out=plan.out, seed=seed, parameters=plan.parameters())
    builders: dict[str, Callable[[SparkSession, _Batch], _Lines]] = {
        "customers": plan.customer_lines,
        "orders": plan.order_lines,
        "web_events": plan.event_lines,
    }
    for entity in ENTITIES:
        for number in range(1, batches + 1):
            began = time.monotonic()
            batch = plan.batch(entity, number)
            written = _write_batch(fs, plan, batch, builders[entity](spark, batch))
            report.batches.append(written)
            log.info("wrote %s batch %d: %d files, %d lines in %.1f s", entity, number,
                     len(written.files), written.lines, time.monotonic() - began)
    return report


# --------------------------------------------------------------------------- SQL helpers
# Expressions are built as SQL text and applied in a few projections: building them as Column
# objects costs one py4j round trip per operator (thousands per batch), and named intermediate
# columns keep Spark from inlining one large expression many times over.


def _lit(value: object) -> str:
    """A Spark SQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}L"
    if isinstance(value, float):
        return f"{value!r}D"
    text = str(value).replace("\\", "\\\\").replace("'", "\\'")
    return f"'{text}'"


def _array(values: Sequence[object]) -> str:
    return f"array({', '.join(_lit(v) for v in values)})"


def _at(values: Sequence[object], index: str) -> str:
    """values[index] for a 0-based index expression."""
    return f"element_at({_array(values)}, CAST({index} AS INT) + 1)"


def _case(pairs: Sequence[tuple[str, str]], otherwise: str) -> str:
    whens = " ".join(f"WHEN {condition} THEN {value}" for condition, value in pairs)
    return f"CASE {whens} ELSE {otherwise} END"


def _ts_text(seconds: str, separator: str, suffix: str = "") -> str:
    """Epoch seconds (a column name) as 'yyyy-MM-dd<sep>HH:mm:ss<suffix>' in UTC.

    Date arithmetic on DATE values keeps the text independent of the session time zone.
    """
    day = f"CAST(date_add(DATE'1970-01-01', CAST({seconds} div 86400 AS INT)) AS STRING)"
    clock = ", ':', ".join(_two_digits(part) for part in (
        f"({seconds} % 86400) div 3600", f"({seconds} % 3600) div 60", f"{seconds} % 60"))
    return f"concat({day}, {_lit(separator)}, {clock}, {_lit(suffix)})"


def _two_digits(number: str) -> str:
    return f"lpad(CAST({number} AS STRING), 2, '0')"


def _code(prefix: str, number: str, width: int) -> str:
    """prefix + number zero-padded to width (format_string is several times slower)."""
    text = f"CAST({number} AS STRING)"
    return (f"concat({_lit(prefix)}, CASE WHEN {number} < {10**width}L "
            f"THEN lpad({text}, {width}, '0') ELSE {text} END)")


def _json_str(column: str) -> str:
    # Every generated string is plain text without quotes or backslashes.
    return f"CASE WHEN {column} IS NULL THEN 'null' ELSE concat('\"', {column}, '\"') END"


def _json_line(pairs: Sequence[tuple[str, str]]) -> str:
    parts = []
    for index, (key, fragment) in enumerate(pairs):
        parts += [_lit(("{" if index == 0 else ",") + f'"{key}":'), fragment]
    return f"concat({', '.join(parts)}, '}}')"


class _Rng:
    """Uniform draws that are pure functions of (seed, namespace, name, key columns)."""

    def __init__(self, seed: int, namespace: str) -> None:
        self.seed = seed
        self.namespace = namespace

    def hash(self, name: str, *keys: str) -> str:
        digest = hashlib.blake2b(
            f"{self.seed}/{self.namespace}/{name}".encode(), digest_size=8
        ).digest()
        salt = int.from_bytes(digest, "big", signed=True)
        return f"xxhash64({salt}L, {', '.join(keys)})"

    def u(self, name: str, *keys: str) -> str:
        """A double in [0, 1) with 53 random bits."""
        return f"(CAST(({self.hash(name, *keys)} & {(1 << 53) - 1}L) AS DOUBLE) / {1 << 53}D)"

    def below(self, name: str, n: str | int, *keys: str) -> str:
        """An integer in [0, n) for n >= 1; u * n may round up to n when n is large."""
        bound = _lit(n) if isinstance(n, int) else f"({n})"
        return f"LEAST(CAST(FLOOR({self.u(name, *keys)} * {bound}) AS BIGINT), {bound} - 1L)"

    def weighted(self, name: str, weights: Sequence[int], *keys: str) -> str:
        """An index into integer ``weights`` drawn with those relative weights (one hash)."""
        table = [index for index, weight in enumerate(weights) for _ in range(weight)]
        return _at(table, self.below(name, len(table), *keys))

    def pick(self, name: str, values: Sequence[str], *keys: str) -> str:
        return _at(values, self.below(name, len(values), *keys))


class _Columns:
    """Named SQL expressions, applied as successive projections.

    An expression that refers to a name defined in the current projection opens the next one.
    """

    def __init__(self, frame: DataFrame) -> None:
        self.frame = frame
        self.stages: list[dict[str, str]] = [{}]

    def add(self, name: str, sql: str) -> str:
        if any(re.search(rf"\b{re.escape(other)}\b", sql) for other in self.stages[-1]):
            self.stages.append({})
        self.stages[-1][name] = sql
        return name

    def apply(self) -> DataFrame:
        frame = self.frame
        for stage in self.stages:
            if stage:
                frame = frame.selectExpr("*", *[f"{sql} AS {name}" for name, sql in stage.items()])
        return frame


def _seasonal_seconds(cols: _Columns, rng: _Rng, name: str, keys: Sequence[str], lo: int,
                      hi: int, trend_start: int, trend_span: int) -> str:
    """Add column ``name``: epoch seconds in [lo, hi) with weekday, hour and growth seasonality.

    Rejection sampling unrolled over six candidates, on exact double arithmetic only, so the
    result does not depend on the JVM's transcendental functions.
    """
    ceiling = max(_WEEKDAY_WEIGHT) * max(_HOUR_WEIGHT) * 1.2
    pairs = []
    for attempt in range(6):
        offset = rng.below(f"{name}.t{attempt}", hi - lo, *keys)
        s = cols.add(f"{name}_s{attempt}", f"{lo}L + {offset}")
        weight = (
            f"element_at({_array(_WEEKDAY_WEIGHT)}, CAST(pmod({s} div 86400 + 3, 7) AS INT) + 1)"
            f" * element_at({_array(_HOUR_WEIGHT)}, CAST(({s} % 86400) div 3600 AS INT) + 1)"
            f" * (0.8D + 0.4D * ({s} - {trend_start}L) / {float(trend_span)!r}D)"
        )  # 1970-01-01 was a Thursday, hence the + 3 to count weekdays from Monday
        accepted = cols.add(f"{name}_ok{attempt}",
                            f"{rng.u(f'{name}.a{attempt}', *keys)} * {ceiling!r}D < {weight}")
        pairs.append((accepted, s))
    return cols.add(name, _case(pairs[:-1], pairs[-1][1]))


def _split(total: int, weights: Sequence[int]) -> list[int]:
    """Cumulative bounds that split ``total`` rows by integer ``weights``."""
    bounds, running, whole = [0], 0, sum(weights)
    for weight in weights:
        running += weight
        bounds.append(total * running // whole)
    return bounds


def _parse_start(start: date | str) -> date:
    if isinstance(start, datetime):
        start = start.date()
    if not isinstance(start, date):
        try:
            start = date.fromisoformat(str(start))
        except ValueError:
            raise UsageError(f"start must be a date like 2026-01-01; got {start!r}") from None
    if not 1975 <= start.year <= 9000:
        raise UsageError(f"start must lie between 1975 and 9000; got {start.isoformat()}")
    return start


# --------------------------------------------------------------------------- plan and rows


@dataclass(frozen=True)
class _Batch:
    entity: str
    number: int
    rows: int  # generated records before duplicates
    files: int
    extension: str
    columns: tuple[str, ...]
    extra_columns: tuple[str, ...]
    lo: int  # first record number of the batch in the entity's global numbering


@dataclass
class _Lines:
    """One row per output line: role ('header', 'own', 'extra'), defect label, is_update, line."""

    frame: DataFrame
    header: str | None


@dataclass(frozen=True)
class _Plan:
    out: str
    customers: int
    orders_per_customer: float
    events_per_customer: float
    batches: int
    seed: int
    start: date
    days: int
    defects: bool
    rows_per_file: int
    customer_bounds: tuple[int, ...]
    order_bounds: tuple[int, ...]
    event_bounds: tuple[int, ...]

    @classmethod
    def build(cls, out: str, customers: int, orders_per_customer: float,
              events_per_customer: float, batches: int, seed: int, start: date | str, days: int,
              defects: bool, rows_per_file: int) -> _Plan:
        if not isinstance(out, str) or not out.strip():
            raise UsageError(f"out must be a folder path or s3:// URI; got {out!r}")
        for name, value in (("customers", customers), ("batches", batches), ("days", days),
                            ("rows_per_file", rows_per_file)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UsageError(f"{name} must be an integer >= 1; got {value!r}")
        if isinstance(seed, bool) or not isinstance(seed, int) or not -(2**63) <= seed < 2**63:
            raise UsageError(f"seed must be a 64-bit integer; got {seed!r}")
        for name, rate in (("orders_per_customer", orders_per_customer),
                           ("events_per_customer", events_per_customer)):
            if not isinstance(rate, int | float) or not math.isfinite(rate) or rate <= 0:
                raise UsageError(f"{name} must be a positive number; got {rate!r}")
        if days < batches:
            raise UsageError(f"days ({days}) must be at least batches ({batches}): "
                             "each batch covers a slice of at least one day")
        if not is_remote(out) and not out.startswith("file:"):
            out = os.path.abspath(out)
        orders = round(customers * orders_per_customer)
        events = round(customers * events_per_customer)
        for name, total in (("customers", customers), ("orders", orders), ("web_events", events)):
            if total < batches:
                raise UsageError(f"{total} {name} cannot fill {batches} batches; "
                                 "expected at least one row per batch: raise the sizes")
        # A larger first load of customers; orders and events grow batch after batch.
        growth = [8 * batches + 4 * b - 2 for b in range(1, batches + 1)]
        return cls(
            out=out.rstrip("/"), customers=customers, orders_per_customer=orders_per_customer,
            events_per_customer=events_per_customer, batches=batches, seed=seed,
            start=_parse_start(start), days=days, defects=defects, rows_per_file=rows_per_file,
            customer_bounds=tuple(_split(customers, [2] + [1] * (batches - 1))),
            order_bounds=tuple(_split(orders, growth)),
            event_bounds=tuple(_split(events, growth)),
        )

    def parameters(self) -> dict[str, object]:
        return {
            "customers": self.customers, "orders_per_customer": self.orders_per_customer,
            "events_per_customer": self.events_per_customer, "batches": self.batches,
            "start": self.start.isoformat(), "days": self.days, "defects": self.defects,
            "rows_per_file": self.rows_per_file,
        }

    # ---- time
    @property
    def start_s(self) -> int:
        return (self.start - date(1970, 1, 1)).days * _DAY

    def edge(self, slice_number: int) -> int:
        """Epoch second where time slice ``slice_number`` ends (slice 0 ends at start)."""
        return self.start_s + slice_number * self.days * _DAY // self.batches

    @property
    def future_s(self) -> int:
        return self.start_s + (self.days + FUTURE_AFTER_DAYS) * _DAY

    # ---- layout
    def batch_dir(self, entity: str, number: int) -> str:
        return f"{self.out}/{entity}/batch_{number}"

    def batch(self, entity: str, number: int) -> _Batch:
        extra: tuple[str, ...] = ()
        columns: tuple[str, ...]
        if entity == "customers":
            lo, hi = self.customer_bounds[number - 1], self.customer_bounds[number]
            rows = hi - lo + self.customer_updates(number)
            columns, extension = CUSTOMER_COLUMNS, "csv"
            if self.defects and number >= 2:
                extra = ("loyalty_tier",)
        elif entity == "orders":
            lo, hi = self.order_bounds[number - 1], self.order_bounds[number]
            rows, columns, extension = hi - lo, ORDER_COLUMNS, "jsonl"
            if self.defects and number >= 2:
                extra = ("coupon_code",)
        else:
            lo, hi = self.event_bounds[number - 1], self.event_bounds[number]
            rows, columns, extension = hi - lo, EVENT_COLUMNS, "jsonl"
        files = max(1, math.ceil(rows / self.rows_per_file))
        return _Batch(entity, number, rows, files, extension, columns, extra, lo)

    def customer_updates(self, number: int) -> int:
        return 0 if number == 1 else round(UPDATE_RATE * self.customer_bounds[number - 1])

    def rates(self, entity: str) -> dict[str, float]:
        return DEFECT_RATES[entity] if self.defects else {}

    # ---- shared row machinery
    def slots(self, spark: SparkSession, batch: _Batch, rng: _Rng, header: bool) -> _Columns:
        """Columns src, role, defect, fault, detail, variant: one row per output line.

        Range row t emits, in this order, a header when it opens its file, its own record, and
        for a duplicate defect an extra copy of a clean record up to 50 rows back in the same
        file (exact, or the same key with changed values). One range partition is one file.
        """
        rows, files = batch.rows, batch.files
        kinds = list(self.rates(batch.entity).items())

        def defect_of(u: str) -> str:
            bounds, total = [], 0.0
            for kind, rate in kinds:
                total += rate
                bounds.append((f"{u} < {total!r}D", _lit(kind)))
            return _case(bounds, "'none'") if bounds else "'none'"

        cols = _Columns(spark.range(0, rows, 1, files))
        cols.add("u_kind", rng.u("defect", "id"))
        file_number = f"((id + 1L) * {files}L - 1L) div {rows}L"
        cols.add("file_start", f"({file_number}) * {rows}L div {files}L")
        cols.add("dup_from", f"id - 1L - {rng.below('dup_offset', 50, 'id')}")
        cols.add("kind", defect_of("u_kind"))
        cols.add("u_from", rng.u("defect", "dup_from"))
        cols.add("dup_src", f"CASE WHEN dup_from >= file_start AND {defect_of('u_from')} = 'none'"
                            " THEN dup_from ELSE id END")
        is_dup = "kind IN ('exact_duplicate', 'duplicate_key')"
        opens_file = "id = file_start" if header else "false"
        cols.add("slot", f"""explode(array(
            named_struct('role', 'header', 'src', id, 'defect', CAST(NULL AS STRING),
                         'keep', {opens_file}),
            named_struct('role', 'own', 'src', id,
                         'defect', CASE WHEN {is_dup} THEN 'none' ELSE kind END, 'keep', true),
            named_struct('role', 'extra', 'src', dup_src, 'defect', kind, 'keep', {is_dup})))""")
        slots = (
            cols.apply()
            .where("slot.keep")
            .selectExpr("slot.role AS role", "slot.src AS src", "slot.defect AS defect")
        )
        row = _Columns(slots)
        # The extra copy of a clean record is clean; a changed copy differs by `variant`.
        row.add("fault", "CASE WHEN role = 'extra' THEN 'none' ELSE defect END")
        row.add("variant", "CAST(role = 'extra' AND defect = 'duplicate_key' AS INT)")
        row.add("detail", rng.u("detail", "src"))
        return row

    def customer_ref(self, rng: _Rng, name: str, keys: Sequence[str], known: int) -> str:
        """A customer number below ``known``; older customers are more likely."""
        u = rng.u(name, *keys)
        return f"LEAST(CAST(FLOOR(({u} + {u} * {u}) / 2D * {known}L) AS BIGINT), {known - 1}L)"

    @staticmethod
    def null_in(column: str) -> str:
        return f"(fault = 'null_value' AND null_column = {_lit(column)})"

    # ---- customers
    def customer_lines(self, spark: SparkSession, batch: _Batch) -> _Lines:
        number = batch.number
        people = _Rng(self.seed, "customers")
        rng = _Rng(self.seed, f"customers.batch{number}")
        cols = self.slots(spark, batch, rng, header=True)
        lo, hi = self.customer_bounds[number - 1], self.customer_bounds[number]
        fresh, updates = hi - lo, max(self.customer_updates(number), 1)
        add = cols.add

        # Updates take one customer from each of `updates` equal slices of earlier customers, so
        # no customer is updated twice in one batch.
        add("k", f"src - {fresh}L")
        add("slice_lo", f"(k * {lo}L) div {updates}L")
        add("slice_hi", f"((k + 1L) * {lo}L) div {updates}L")
        add("is_update", f"src >= {fresh}L")
        add("c", f"CASE WHEN is_update THEN slice_lo + "
                 f"{rng.below('updated_customer', 'GREATEST(slice_hi - slice_lo, 1L)', 'k')} "
                 f"ELSE src + {lo}L END")
        home_pairs = [(f"c < {self.customer_bounds[b]}L", str(b)) for b in range(1, self.batches)]
        add("home", _case(home_pairs, str(self.batches)) if home_pairs else "1")
        # Customers of batch 1 signed up in the two years before start, those of batch b >= 2
        # during slice b-1: all exist before any order of their batch.
        later = range(2, self.batches + 1)
        add("w_lo", _at([self.start_s - 730 * _DAY] + [self.edge(b - 2) for b in later],
                        "home - 1"))
        add("w_hi", _at([self.start_s] + [self.edge(b - 1) for b in later], "home - 1"))
        add("signup", f"w_lo + {people.below('signup', 'w_hi - w_lo', 'c')}")
        cutoff = self.start_s if number == 1 else self.edge(number - 1)
        cdc_lo = self.edge(max(number - 2, 0))
        add("version", f"{number * 2} + variant")  # what may change between versions
        first_update = people.below("first_update", f"{cutoff}L - signup + 1L", "c")
        add("first_update", f"signup + {first_update}")
        cdc_update = rng.below("cdc_update", max(cutoff - cdc_lo, 1), "src")
        add("cdc_update", f"{cdc_lo}L + {cdc_update}")
        add("updated_base", "CASE WHEN is_update THEN cdc_update ELSE first_update END"
                            f" + variant * (3600L + {rng.below('later', 3 * _DAY, 'src')})")
        add("updated_at", f"CASE WHEN fault = 'future_timestamp' THEN {self.future_s}L + "
                          f"{rng.below('future', 730 * _DAY, 'src')} ELSE updated_base END")
        add("first_name", people.pick("first_name", _FIRST_NAMES, "c"))
        add("last_name", people.pick("last_name", _LAST_NAMES, "c"))
        add("full_name", f"concat(first_name, ' ', last_name, CASE WHEN "
                         f"{people.u('suffix', 'c')} < 0.01D THEN ', Jr.' ELSE '' END)")
        plain = f"{_lit(_ACCENTS)}, {_lit(_PLAIN)}"
        add("email", f"format_string('%s.%s%d@%s', lower(translate(first_name, {plain})), "
                     f"lower(translate(last_name, {plain})), "
                     f"{people.below('email_number', 100, 'c')}, "
                     f"{people.pick('email_domain', _EMAIL_DOMAINS, 'c', 'version')})")
        add("country", f"CASE WHEN fault = 'unknown_category' THEN "
                       f"{rng.pick('bad_country', UNKNOWN_CATEGORY['customers'], 'src')} ELSE "
                       f"{_at(COUNTRIES, people.weighted('country', COUNTRY_WEIGHTS, 'c'))} END")
        add("segment", _at(SEGMENTS, people.weighted("segment", (80, 15, 5), "c", "version")))
        add("born", f"CAST(1945L + {people.below('birth_year', 62, 'c')} AS STRING)")
        add("birth_year", "CASE WHEN fault = 'wrong_type' THEN concat(substr(born, 1, 2), 'x', "
                          "substr(born, 4, 1)) ELSE born END")
        add("customer_id", "CASE WHEN fault = 'null_key' THEN '' ELSE "
                           f"{_code('C', 'c + 1L', 7)} END")
        add("null_column", _at(("full_name", "email", "country", "segment", "birth_year"),
                               "FLOOR(detail * 5D)"))
        add("unclosed", "fault = 'malformed' AND detail < 0.5D")
        add("name_field", _case([
            ("unclosed", "concat('\"', full_name)"),
            (self.null_in("full_name"), "''"),
            ("instr(full_name, ',') > 0 OR instr(full_name, '\"') > 0",
             "concat('\"', replace(full_name, '\"', '\"\"'), '\"')"),
        ], "full_name"))
        add("signup_text", _ts_text("signup", " "))
        add("updated_text", _ts_text("updated_at", " "))
        fields = ["customer_id", "name_field"]
        fields += [f"CASE WHEN {self.null_in(name)} THEN '' ELSE {name} END"
                   for name in ("email", "country", "segment")]
        fields += ["signup_text", f"CASE WHEN {self.null_in('birth_year')} THEN '' "
                                  "ELSE birth_year END", "updated_text"]
        if batch.extra_columns:
            tier = people.weighted("loyalty_tier", (40, 30, 18, 9, 3), "c", "version")
            fields.append(_at(("",) + LOYALTY_TIERS, tier))
        add("line", f"CASE WHEN fault = 'malformed' AND NOT unclosed "
                    f"THEN concat_ws(',', {', '.join(fields[:-1])}) "
                    f"ELSE concat_ws(',', {', '.join(fields)}) END")
        header = ",".join(batch.columns + batch.extra_columns)
        return _Lines(self._finish(cols, "is_update"), header)

    # ---- orders
    def order_lines(self, spark: SparkSession, batch: _Batch) -> _Lines:
        number = batch.number
        people = _Rng(self.seed, "customers")
        rng = _Rng(self.seed, f"orders.batch{number}")
        cols = self.slots(spark, batch, rng, header=False)
        add = cols.add
        known = self.customer_bounds[number]

        add("j", f"src + {batch.lo}L")
        # The first of four draws that lands on a customer who orders at all wins.
        for attempt in range(4):
            add(f"cand{attempt}", self.customer_ref(rng, f"customer{attempt}", ["j"], known))
            add(f"buys{attempt}", f"{people.u('never_orders', f'cand{attempt}')} >= "
                                  f"{NEVER_ORDER_RATE!r}D")
        add("customer", _case(
            [("fault = 'unknown_customer'",
              f"{self.customers}L + {rng.below('orphan', self.customers, 'j')}")]
            + [(f"buys{a}", f"cand{a}") for a in range(3)], "cand3"))
        add("country", people.weighted("country", COUNTRY_WEIGHTS, "customer"))
        seasonal = _seasonal_seconds(cols, rng, "placed_at", ["j"], self.edge(number - 1),
                                     self.edge(number), self.start_s, self.days * _DAY)
        add("order_ts", f"CASE WHEN fault = 'future_timestamp' THEN {self.future_s}L + "
                        f"{rng.below('future', 730 * _DAY, 'j')} ELSE {seasonal} END")
        add("category_index", rng.weighted("category", CATEGORY_WEIGHTS, "j"))
        add("category", f"CASE WHEN fault = 'unknown_category' THEN "
                        f"{rng.pick('bad_category', UNKNOWN_CATEGORY['orders'], 'j')} "
                        f"ELSE {_at(CATEGORIES, 'category_index')} END")
        add("quantity", f"{rng.weighted('quantity', (70, 18, 7, 3, 2), 'j')} + 1")
        add("u_price", rng.u("price", "j"))
        add("u_tail", rng.u("price_tail", "j"))
        add("cents", f"CAST(FLOOR({_at(CATEGORY_PRICE_CENTS, 'category_index')} * (0.35D + "
                     "1.3D * u_price + 2.5D * u_tail * u_tail * u_tail * u_tail)) AS BIGINT)"
                     " * quantity")
        add("amount", f"concat(CAST(cents div 100L AS STRING), '.', {_two_digits('cents % 100L')})")
        # The changed copy of a record always gets another status.
        add("status", f"pmod({rng.weighted('status', (6, 10, 68, 8, 8), 'j')} + variant * "
                      f"(1L + {rng.below('new_status', 4, 'j')}), {len(STATUSES)})")
        add("null_column", _at(("customer_id", "amount", "currency", "category", "quantity",
                                "status"), "FLOOR(detail * 6D)"))
        add("amount_json", _case([
            (self.null_in("amount"), "'null'"),
            ("fault = 'wrong_type' AND detail < 0.3333D",
             "concat('\"', replace(amount, '.', ','), '\"')"),
            ("fault = 'wrong_type' AND detail < 0.6667D",
             f"concat('\"', {rng.pick('bad_amount', ('abc', 'n/a'), 'j')}, '\"')"),
            ("fault = 'negative_amount'", "concat('-', amount)"),
        ], "amount"))
        add("quantity_json", _case([
            (self.null_in("quantity"), "'null'"),
            ("fault = 'wrong_type' AND detail >= 0.6667D",
             f"concat('\"', {_at(_NUMBER_WORDS, 'quantity - 1')}, '\"')"),
        ], "CAST(quantity AS STRING)"))
        add("order_id", "CASE WHEN fault = 'null_key' THEN NULL ELSE "
                        f"{_code('O', 'j + 1L', 9)} END")
        add("customer_id", _code("C", "customer + 1L", 7))
        add("currency", _at(COUNTRY_CURRENCY, "country"))
        add("status_text", _at(STATUSES, "status"))
        add("order_ts_text", _ts_text("order_ts", "T", "Z"))
        pairs = [
            ("order_id", _json_str("order_id")),
            ("customer_id", self.nullable("customer_id", _json_str("customer_id"))),
            ("order_ts", _json_str("order_ts_text")),
            ("amount", "amount_json"),
            ("currency", self.nullable("currency", _json_str("currency"))),
            ("category", self.nullable("category", _json_str("category"))),
            ("quantity", "quantity_json"),
            ("status", self.nullable("status", _json_str("status_text"))),
        ]
        if batch.extra_columns:
            add("coupon_code", f"CASE WHEN {rng.u('coupon', 'j')} < 0.18D THEN "
                               f"{rng.pick('coupon_code', _COUPONS, 'j')} END")
            pairs.append(("coupon_code", _json_str("coupon_code")))
        self._json_lines(cols, rng, pairs)
        return _Lines(self._finish(cols, "false"), None)

    # ---- web events
    def event_lines(self, spark: SparkSession, batch: _Batch) -> _Lines:
        number = batch.number
        rng = _Rng(self.seed, f"web_events.batch{number}")
        cols = self.slots(spark, batch, rng, header=False)
        add = cols.add
        known = self.customer_bounds[number]

        add("j", f"src + {batch.lo}L")
        # Blocks of ten events, each split at a random point into two sessions.
        add("block", f"src div {_SESSION_BLOCK}L")
        add("pos", f"src % {_SESSION_BLOCK}L")
        add("cut_at", f"1L + {rng.below('session_split', _SESSION_BLOCK - 1, 'block')}")
        add("half", "CAST(pos >= cut_at AS INT)")
        add("step", "CASE WHEN half = 1 THEN pos - cut_at ELSE pos END")
        session = ["block", "half"]
        # Sessions start at least an hour before the slice ends, so their events stay in it.
        start = _seasonal_seconds(cols, rng, "session_start", session, self.edge(number - 1),
                                  self.edge(number) - 3600, self.start_s, self.days * _DAY)
        add("event_ts", f"{start} + step * 45L + {rng.below('gap', 40, 'src')}")
        add("customer", _case(
            [("fault = 'unknown_customer'",
              f"{self.customers}L + {rng.below('orphan', self.customers, 'j')}")],
            self.customer_ref(rng, "customer", session, known)))
        # The changed copy of a record always gets another device.
        add("device", f"pmod({rng.weighted('device', (45, 45, 10), *session)} + variant * "
                      f"(1L + {rng.below('new_device', 2, 'src')}), {len(DEVICES)})")
        add("event_type", f"CASE WHEN step = 0 THEN CASE WHEN {rng.u('login', *session)} < 0.5D "
                          f"THEN 4 ELSE 0 END ELSE "
                          f"{rng.weighted('event_type', (55, 20, 15, 10), 'src')} END")
        product = f"FLOOR({rng.u('product', 'src')} * {rng.u('product_skew', 'src')} * 5000D)"
        add("page", f"CASE WHEN event_type = 0 THEN concat('/p/', CAST({product} + 1L AS STRING)) "
                    f"ELSE {_at(('', '/search', '/cart', '/checkout', '/login'), 'event_type')}"
                    " END")
        add("event_type_text", f"CASE WHEN fault = 'unknown_category' THEN "
                               f"{rng.pick('bad_event', UNKNOWN_CATEGORY['web_events'], 'src')}"
                               f" ELSE {_at(EVENT_TYPES, 'event_type')} END")
        add("future_ts", f"{self.future_s}L + {rng.below('future', 730 * _DAY, 'src')}")
        add("event_ts_json", _case([
            ("fault = 'future_timestamp'", _json_str(_ts_text("future_ts", "T", "Z"))),
            ("fault = 'wrong_type'", "CAST(event_ts AS STRING)"),
        ], _json_str(_ts_text("event_ts", "T", "Z"))))
        add("null_column", _at(("customer_id", "page", "session_id", "device"),
                               "FLOOR(detail * 4D)"))
        add("event_id", "CASE WHEN fault = 'null_key' THEN NULL ELSE "
                        f"{_code('E', 'j + 1L', 12)} END")
        add("customer_id", _code("C", "customer + 1L", 7))
        add("session_id", f"concat('S', lower(lpad(hex({rng.hash('session_id', *session)}), 16, "
                          "'0')))")
        add("device_text", _at(DEVICES, "device"))
        pairs = [
            ("event_id", _json_str("event_id")),
            ("customer_id", self.nullable("customer_id", _json_str("customer_id"))),
            ("event_ts", "event_ts_json"),
            ("event_type", _json_str("event_type_text")),
            ("page", self.nullable("page", _json_str("page"))),
            ("session_id", self.nullable("session_id", _json_str("session_id"))),
            ("device", self.nullable("device", _json_str("device_text"))),
        ]
        self._json_lines(cols, rng, pairs)
        return _Lines(self._finish(cols, "false"), None)

    def nullable(self, column: str, fragment: str) -> str:
        return f"CASE WHEN {self.null_in(column)} THEN 'null' ELSE {fragment} END"

    @staticmethod
    def _json_lines(cols: _Columns, rng: _Rng, pairs: Sequence[tuple[str, str]]) -> None:
        """Add column ``line``; a malformed line is cut short of its closing brace."""
        cols.add("whole", _json_line(pairs))
        cols.add("line", "CASE WHEN fault = 'malformed' THEN substr(whole, 1, CAST(FLOOR("
                         f"length(whole) * (0.3D + 0.6D * {rng.u('cut', 'src')})) AS INT)) "
                         "ELSE whole END")

    @staticmethod
    def _finish(cols: _Columns, is_update: str) -> DataFrame:
        return cols.apply().selectExpr("role", "defect", f"{is_update} AS is_update", "line")


# --------------------------------------------------------------------------- writing


class _FileSystem:
    """Hadoop FileSystem calls through the JVM, so the same code works on local disk and S3."""

    def __init__(self, spark: SparkSession, root: str) -> None:
        jvm = spark.sparkContext._jvm
        assert jvm is not None
        self._path = jvm.org.apache.hadoop.fs.Path
        conf = spark._jsparkSession.sessionState().newHadoopConf()
        fs = self._path(root).getFileSystem(conf)
        try:
            # The local filesystem's checksum layer would carry .crc files along with renames.
            fs = fs.getRawFileSystem()
        except Py4JError:
            pass
        self.fs = fs

    def path(self, location: str):  # returns a py4j JavaObject
        return self._path(location)

    def non_empty(self, location: str) -> bool:
        path = self.path(location)
        return bool(self.fs.exists(path) and len(self.fs.listStatus(path)) > 0)

    def list_names(self, location: str) -> list[str]:
        statuses = self.fs.listStatus(self.path(location))
        return sorted(status.getPath().getName() for status in statuses)

    def delete(self, location: str) -> None:
        path = self.path(location)
        if self.fs.exists(path):
            self.fs.delete(path, True)

    def mkdirs(self, location: str) -> None:
        self.fs.mkdirs(self.path(location))

    def rename(self, source: str, target: str) -> None:
        if not self.fs.rename(self.path(source), self.path(target)):
            raise LakeprepError(f"could not rename {source} to {target}")


def _write_batch(fs: _FileSystem, plan: _Plan, batch: _Batch, lines: _Lines) -> BatchReport:
    """Write one batch through a staging folder, count it on the way, and name its files."""
    target = plan.batch_dir(batch.entity, batch.number)
    staging = f"{plan.out}/{batch.entity}/_staging_batch_{batch.number}_{uuid.uuid4().hex}"
    kinds = list(plan.rates(batch.entity))
    data = "role <> 'header'"
    metrics = [F.expr(f"count_if({data})").alias("lines"),
               F.expr(f"count_if({data} AND is_update AND defect <> 'null_key')").alias("updates")]
    metrics += [F.expr(f"count_if({data} AND defect = {_lit(kind)})").alias(kind)
                for kind in kinds]
    observation = Observation(f"sample_{batch.entity}_{batch.number}_{uuid.uuid4().hex}")
    text = "line"
    if lines.header is not None:
        text = f"CASE WHEN {data} THEN line ELSE {_lit(lines.header)} END"
    try:
        (
            lines.frame.observe(observation, *metrics)
            .selectExpr(f"{text} AS value")
            .write.mode("errorifexists")
            .option("compression", "none")
            .option("lineSep", "\n")
            .option("maxRecordsPerFile", 0)
            .option("mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")
            .text(staging)
        )
        counts = observation.get
        parts = [name for name in fs.list_names(staging) if name.startswith("part-")]
        if len(parts) != batch.files:
            raise LakeprepError(
                f"expected {batch.files} part files in {staging}, found {len(parts)}: {parts}")
        fs.delete(target)
        fs.mkdirs(target)
        files = []
        for index, name in enumerate(parts):
            final = f"{target}/part-{index:05d}.{batch.extension}"
            fs.rename(f"{staging}/{name}", final)
            files.append(final)
    finally:
        fs.delete(staging)
    return BatchReport(
        entity=batch.entity,
        batch=batch.number,
        path=target,
        files=files,
        lines=int(counts["lines"]),
        columns=list(batch.columns + batch.extra_columns),
        extra_columns=list(batch.extra_columns),
        defects={kind: int(counts[kind]) for kind in kinds},
        updates=int(counts["updates"]),
    )


def has_samples(spark: SparkSession, raw: str) -> bool:
    """Whether the raw layer ``raw`` holds generated sample data already (its orders)."""
    return bool(list_files(spark, f"{raw.rstrip('/')}/orders"))
