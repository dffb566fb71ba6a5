"""Prompts × models × seeds: reading the Grid form, expanding it into cells, and estimating it before it runs.

Pure: no Gradio, no HTTP. A grid is many Compare-style jobs: each cell is one model's request, made from the
shared settings by :func:`playground.compare.adapt` with that cell's prompt and seed. The plan stores concrete
seeds (a count is drawn once), so the same plan always expands into the same requests.
"""

from __future__ import annotations

import csv
import heapq
import io
import random
import re
import secrets
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from playground.catalog import MAX_SEED, Model, estimate_usd
from playground.compare import MAX_MODELS, Adapted, Preflight, SharedSettings, adapt

MAX_PROMPTS = 50
MAX_SEEDS = 8
MAX_GRID_MODELS = MAX_MODELS
MAX_CELLS = 400
MAX_PROMPT_CHARS = 2000  # the app-wide cap; a model with a lower maxLength (Runway: 1000) is checked in plan_grid
MAX_FILE_BYTES = 1_000_000
DEFAULT_SEEDS = 1  # an empty seeds box: one random seed
PROMPT_FILE_TYPES = (".txt", ".csv")
HEADER_NAMES = frozenset({"prompt", "prompts", "text", "caption", "description"})  # a first CSV row with one of
# these is a header row; "prompt" also picks the column

FIELD_PROMPTS, FIELD_SEEDS, FIELD_MODELS, FIELD_BUDGET = "grid-prompts", "grid-seeds", "grid-models", "grid-budget"


class GridInputError(ValueError):
    """The Grid form cannot be run as it is: a short message saying what to do, and the field to point at."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


# --- prompts -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prompts:
    """The prompts to run, in order, and what was done to get them (duplicates dropped, a header row skipped)."""

    items: tuple[str, ...]
    notes: tuple[str, ...] = ()


def _snippet(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _kept(lines: Iterable[str]) -> list[str]:
    """Stripped, without blank lines and `#` comment lines."""
    return [s for s in (line.strip() for line in lines) if s and not s.startswith("#")]


def _read_file(path: Path) -> str:
    if path.suffix.lower() not in PROMPT_FILE_TYPES:
        raise GridInputError(f"{path.name} is not a prompt file: upload a .txt (one prompt per line) or a .csv "
                             "(a column named prompt).", FIELD_PROMPTS)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise GridInputError(f"{path.name} is over {MAX_FILE_BYTES // 1_000_000} MB: a grid takes at most "
                                 f"{MAX_PROMPTS} prompts. Upload a shorter file.", FIELD_PROMPTS)
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise GridInputError(f"{path.name} is not UTF-8 text. Save it as UTF-8 and upload it again.",
                             FIELD_PROMPTS) from None
    except OSError:
        raise GridInputError(f"{path.name} could not be read. Upload it again.", FIELD_PROMPTS) from None


def _csv_rows(text: str) -> list[list[str]]:
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return [row for row in csv.reader(io.StringIO(text), dialect) if any(cell.strip() for cell in row)]


def csv_prompts(text: str, name: str = "the file") -> tuple[list[str], tuple[str, ...]]:
    """The prompt column of a CSV (`prompt`, any case, else the first), without its header row; and a note."""
    rows = _csv_rows(text)
    if not rows:
        return [], ()
    header = [cell.strip().lower() for cell in rows[0]]
    column = header.index("prompt") if "prompt" in header else 0
    notes: tuple[str, ...] = ()
    if HEADER_NAMES & set(header):
        notes = (f"{name}: header row skipped, prompts read from column “{rows[0][column].strip()}”",)
        rows = rows[1:]
    return [row[column] if column < len(row) else "" for row in rows], notes


def parse_prompts(text: str | None, file_path: str | Path | None = None) -> Prompts:
    """The prompts of the text box (one per line) followed by those of an uploaded .txt or .csv.

    Blank lines and lines starting with `#` are skipped; exact duplicates are dropped (said in a note)."""
    lines = (text or "").splitlines()
    notes: list[str] = []
    if file_path:
        path = Path(file_path)
        content = _read_file(path)
        if path.suffix.lower() == ".csv":
            from_file, csv_notes = csv_prompts(content, path.name)
            lines += from_file
            notes += csv_notes
        else:
            lines += content.splitlines()
    found = _kept(lines)
    items = list(dict.fromkeys(found))
    if len(items) < len(found):
        dropped = len(found) - len(items)
        notes.append(f"{dropped} duplicate prompt{'s' if dropped > 1 else ''} dropped")
    if not items:
        raise GridInputError("Type at least one prompt (one per line), or upload a .txt or .csv file of prompts.",
                             FIELD_PROMPTS)
    if len(items) > MAX_PROMPTS:
        raise GridInputError(f"{len(items)} prompts: a grid takes at most {MAX_PROMPTS}. Remove some, or split them "
                             "over two grids.", FIELD_PROMPTS)
    for number, prompt in enumerate(items, start=1):
        if len(prompt) > MAX_PROMPT_CHARS:
            raise GridInputError(f"Prompt {number} (“{_snippet(prompt)}”) is {len(prompt)} characters: the most is "
                                 f"{MAX_PROMPT_CHARS}. Shorten it.", FIELD_PROMPTS)
        try:
            prompt.encode("utf-8")
        except UnicodeEncodeError:
            raise GridInputError(f"Prompt {number} contains characters that cannot be sent (a broken emoji or "
                                 "symbol?). Retype that part.", FIELD_PROMPTS) from None
    return Prompts(tuple(items), tuple(notes))


# --- seeds -------------------------------------------------------------------------------------------------------

_SEED_SEPARATORS = re.compile(r"[\s,;]+")


def draw_seeds(count: int, rng_seed: int | None = None) -> list[int]:
    """`count` distinct random seeds in 0..MAX_SEED; the same ones again for the same `rng_seed`."""
    rng = random.Random(rng_seed) if rng_seed is not None else secrets.SystemRandom()
    return rng.sample(range(MAX_SEED + 1), count)


def parse_seeds(text: str | None, rng_seed: int | None = None) -> list[int]:
    """Seeds from the Grid form: a count ("3": three random seeds, drawn once) or a list ("1, 42, 7" or "1 42 7").

    One number alone is a count; a separator makes it a list ("42," is the seed 42). Empty: one random seed.
    Duplicates in a list are dropped."""
    raw = (text or "").strip()
    if not raw:
        return draw_seeds(DEFAULT_SEEDS, rng_seed)
    tokens = [t for t in _SEED_SEPARATORS.split(raw) if t]
    for token in tokens:
        if not token.isdigit():
            raise GridInputError(f"“{_snippet(token, 20)}” is not a seed: seeds are whole numbers from 0 to "
                                 f"{MAX_SEED}. Give a count like 4, or a list like 1, 42, 7.", FIELD_SEEDS)
    if len(tokens) == 1 and raw == tokens[0]:  # a bare number: a count
        count = int(raw)
        if not 1 <= count <= MAX_SEEDS:
            raise GridInputError(f"{count} reads as a number of seeds: give 1 to {MAX_SEEDS}. To use seed {count} "
                                 f"itself, follow it with a comma ({count},).", FIELD_SEEDS)
        return draw_seeds(count, rng_seed)
    seeds = list(dict.fromkeys(int(t) for t in tokens))
    for seed in seeds:
        if seed > MAX_SEED:
            raise GridInputError(f"Seed {seed} is too large: seeds go from 0 to {MAX_SEED}.", FIELD_SEEDS)
    if len(seeds) > MAX_SEEDS:
        raise GridInputError(f"{len(seeds)} seeds: a grid takes at most {MAX_SEEDS}. Remove some.", FIELD_SEEDS)
    return seeds


# --- the plan ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GridCell:
    """One job of the grid: a prompt, a model and a seed, by position (and the seed itself)."""

    prompt_index: int
    model_id: str
    seed_index: int
    seed: int

    @property
    def key(self) -> str:
        """Stable and unique within a plan: "p0-mbfl/flux-1-dev-s1" (0-based prompt and seed positions)."""
        return f"p{self.prompt_index}-m{self.model_id}-s{self.seed_index}"


@dataclass(frozen=True)
class GridPlan:
    """What a grid runs: prompts × models × seeds, each cell the shared settings adapted to its model."""

    prompts: tuple[str, ...]
    models: tuple[Model, ...]
    seeds: tuple[int, ...]
    shared: SharedSettings  # its prompt and seed are each cell's own

    @property
    def model_ids(self) -> tuple[str, ...]:
        return tuple(m.id for m in self.models)

    @property
    def jobs(self) -> int:
        return len(self.prompts) * len(self.models) * len(self.seeds)

    def cells(self) -> list[GridCell]:
        """Every cell in run order: prompt, then seed, then model, so each model gets a job in every round and a
        slow one never holds the others back."""
        return [GridCell(p, model.id, s, seed)
                for p in range(len(self.prompts)) for s, seed in enumerate(self.seeds) for model in self.models]

    def cell(self, key: str) -> GridCell:
        """The cell with this key; KeyError if none."""
        for cell in self.cells():
            if cell.key == key:
                return cell
        raise KeyError(key)

    def model(self, model_id: str) -> Model:
        return next(m for m in self.models if m.id == model_id)

    def adapted(self, cell: GridCell) -> Adapted:
        """The exact request of one cell, with notes on what was adapted."""
        settings = replace(self.shared, prompt=self.prompts[cell.prompt_index], seed=cell.seed)
        return adapt(self.model(cell.model_id), settings)

    def adapted_cells(self) -> Iterator[tuple[GridCell, Adapted]]:
        for cell in self.cells():
            yield cell, self.adapted(cell)


def product_text(prompts: int, models: int, seeds: int) -> str:
    """ "3 prompts × 5 models × 4 seeds = 60 jobs" """
    def n(count: int, word: str) -> str:
        return f"{count} {word}{'' if count == 1 else 's'}"
    jobs = n(prompts * models * seeds, "job")
    return f"{n(prompts, 'prompt')} × {n(models, 'model')} × {n(seeds, 'seed')} = {jobs}"


def _checked_models(models: Sequence[Model], prompts: Sequence[str]) -> tuple[Model, ...]:
    unique = tuple({m.id: m for m in models}.values())
    if not 1 <= len(unique) <= MAX_GRID_MODELS:
        raise GridInputError(f"Choose 1 to {MAX_GRID_MODELS} models for the grid ({len(unique)} chosen).",
                             FIELD_MODELS)
    for model in unique:
        if model.needs_image:
            raise GridInputError(f"{model.name} needs an input image, which the Grid does not send. Remove it.",
                                 FIELD_MODELS)
        limit = getattr(model.param("prompt"), "max_length", None)
        too_long = next((i for i, p in enumerate(prompts, start=1) if limit is not None and len(p) > limit), None)
        if too_long is not None:
            raise GridInputError(f"Prompt {too_long} is {len(prompts[too_long - 1])} characters, but {model.name} "
                                 f"takes at most {limit}. Shorten it or remove {model.name}.", FIELD_PROMPTS)
    return unique


def plan_grid(prompts: Prompts | Sequence[str], models: Sequence[Model], seeds: Sequence[int],
              shared: SharedSettings) -> GridPlan:
    """A plan, or GridInputError: too many jobs, a model the grid cannot run, a prompt too long for a model."""
    items = tuple(prompts.items if isinstance(prompts, Prompts) else prompts)
    if not items:
        raise GridInputError("Type at least one prompt (one per line).", FIELD_PROMPTS)
    if not seeds:
        raise GridInputError("Give at least one seed, or a count like 2.", FIELD_SEEDS)
    chosen = _checked_models(models, items)
    jobs = len(items) * len(chosen) * len(seeds)
    if jobs > MAX_CELLS:
        raise GridInputError(f"{product_text(len(items), len(chosen), len(seeds))}: a grid runs at most {MAX_CELLS}. "
                             "Use fewer prompts, models or seeds.", FIELD_PROMPTS)
    return GridPlan(prompts=items, models=chosen, seeds=tuple(int(s) for s in seeds),
                    shared=replace(shared, prompt="", seed=None))


# --- preflight ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GridPreflight(Preflight):
    """Compare's preflight for a grid: the jobs share `concurrency` slots, so time adds up instead of overlapping."""

    concurrency: int = 1
    unpriced_jobs: int = 0
    product: str = ""  # "2 prompts × 3 models × 2 seeds = 12 jobs"

    def refusal(self, allow_unpriced: bool = False) -> str | None:
        """Why a grid with this estimate must not start under its budget cap, or None. It refuses what it cannot
        bound: with a cap, every job needs a known price (unless unpriced models are allowed)."""
        if self.unbounded and not allow_unpriced:
            names = ", ".join(self.unpriced)
            return (f"Not started: with a ${self.budget_usd:.2f} cap the cost must be known, but {names} "
                    f"{'has' if len(self.unpriced) == 1 else 'have'} no known price ({self.unpriced_jobs} of "
                    f"{self.jobs} jobs). Remove {'it' if len(self.unpriced) == 1 else 'them'}, or allow unpriced "
                    "models.")
        if self.over_budget:
            return (f"Not started: {self.product} is estimated at ${self.cost_usd:.3f}, over your budget cap of "
                    f"${self.budget_usd:.2f}. Raise the cap, or use fewer prompts, seeds or cheaper models.")
        return None

    def check(self, allow_unpriced: bool = False) -> None:
        """GridInputError (field grid-budget) if the estimate refuses the grid."""
        reason = self.refusal(allow_unpriced)
        if reason:
            raise GridInputError(reason, FIELD_BUDGET)

    def line(self) -> str:
        cost = f"≈ ${self.cost_usd:.3f}"
        if self.unpriced:
            cost += f" + {self.unpriced_jobs} unpriced ({', '.join(self.unpriced)})"
        slots = f"{self.concurrency} at a time" if self.concurrency > 1 else "one at a time"
        text = f"{self.product or f'{self.jobs} jobs'} · {cost} · ≈ {_duration(self.est_seconds)} ({slots})"
        if self.budget_usd is not None:
            text += f" · budget ${self.budget_usd:.2f}" + (" — over budget" if self.over_budget else "")
        return text


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def scheduled_seconds(durations: Iterable[float], concurrency: int) -> float:
    """How long jobs take in this order through `concurrency` slots, each starting on the first free slot.

    At least the total over the slots and at least the longest job: sum/concurrency alone would promise a
    60-second job done in 20 seconds on three slots."""
    slots = [0.0] * max(1, int(concurrency))
    for duration in durations:
        heapq.heappush(slots, heapq.heappop(slots) + max(0.0, duration))
    return max(slots)


def grid_preflight(plan: GridPlan, *, budget_usd: float | None = None, concurrency: int = 1,
                   expected_seconds: Mapping[str, float] | None = None) -> GridPreflight:
    """Jobs, cost and time of a grid before anything is sent.

    Each job is priced for the body it sends (catalog.estimate_usd); a model without a USD price leaves the cost
    unbounded. `expected_seconds` maps model ids to the seconds a job takes on this backend (the run service's
    figures); a model missing from it uses the catalog's typical time."""
    times = dict(expected_seconds or {})
    cost, unpriced, unpriced_jobs, durations = 0.0, [], 0, []
    for cell, adapted in plan.adapted_cells():
        price = estimate_usd(adapted.model, adapted.params)
        if price is None:
            unpriced_jobs += 1
            if adapted.model.name not in unpriced:
                unpriced.append(adapted.model.name)
        else:
            cost += price
        durations.append(float(times.get(cell.model_id, adapted.model.expected_seconds)))
    return GridPreflight(jobs=plan.jobs, cost_usd=round(cost, 4), unpriced=tuple(unpriced),
                         est_seconds=scheduled_seconds(durations, concurrency), budget_usd=budget_usd,
                         concurrency=max(1, int(concurrency)), unpriced_jobs=unpriced_jobs,
                         product=product_text(len(plan.prompts), len(plan.models), len(plan.seeds)))
