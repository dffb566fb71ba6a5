"""The Grid: reading prompts and seeds, expanding prompts × models × seeds, the estimate, the sheet, the exports."""

import base64
import csv
import io
import json
import zipfile

import pytest
from PIL import Image

from playground.catalog import MAX_SEED, load_catalog
from playground.compare import SharedSettings
from playground.contact_sheet import (
    contact_sheet_html,
    export_grid_csv,
    export_grid_zip,
    image_name,
    thumbnail_data_uri,
)
from playground.grid_plan import (
    MAX_CELLS,
    MAX_PROMPTS,
    MAX_SEEDS,
    GridInputError,
    grid_preflight,
    parse_prompts,
    parse_seeds,
    plan_grid,
    scheduled_seconds,
)
from playground.krea.errors import ErrorKind
from playground.runs import Phase, RunError, RunRecord, RunTimings, RunUpdate

CATALOG = load_catalog()
FLUX, TURBO, IMAGEN = (CATALOG.get(i) for i in ("bfl/flux-1-dev", "krea/krea-2/medium-turbo", "google/imagen-4"))
SEEDREAM = CATALOG.get("bytedance/seedream-4")  # no USD price


def small_plan(models=(FLUX, TURBO, IMAGEN), prompts=("a fox", "a <b>bold</b> cat"), seeds=(1, 42)):
    return plan_grid(list(prompts), list(models), list(seeds), SharedSettings(prompt="", width=1024, height=1024))


# --- prompts -----------------------------------------------------------------------------------------------------

def test_text_prompts_skip_blanks_and_comments_and_drop_duplicates_with_a_note():
    prompts = parse_prompts("  a fox \n\n# a comment\na cat\na fox\n   \n")
    assert prompts.items == ("a fox", "a cat")
    assert prompts.notes == ("1 duplicate prompt dropped",)


def test_a_txt_file_adds_its_lines_after_the_text_box(tmp_path):
    path = tmp_path / "prompts.txt"
    path.write_text("\ufeffa dog\n#skip\na bird\n", encoding="utf-8")
    assert parse_prompts("a fox", str(path)).items == ("a fox", "a dog", "a bird")


def test_a_csv_reads_the_prompt_column_by_name_and_skips_its_header(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text('id,Prompt,notes\n1,"a fox, in snow",x\n2,a cat,y\n', encoding="utf-8")
    prompts = parse_prompts(None, path)
    assert prompts.items == ("a fox, in snow", "a cat")
    assert any("header row skipped" in n and "Prompt" in n for n in prompts.notes)


def test_a_csv_without_a_header_reads_its_first_column(tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("a fox,1\na cat,2\n\n# not this\n", encoding="utf-8")
    prompts = parse_prompts("", path)
    assert prompts.items == ("a fox", "a cat") and prompts.notes == ()


def test_other_files_and_unreadable_text_are_refused(tmp_path):
    other = tmp_path / "p.json"
    other.write_text("[]")
    latin = tmp_path / "p.txt"
    latin.write_bytes("caf\xe9".encode("latin-1"))
    for path in (other, latin):
        with pytest.raises(GridInputError) as caught:
            parse_prompts(None, path)
        assert caught.value.field == "grid-prompts"


def test_no_prompts_too_many_or_too_long_are_refused_with_what_to_do():
    with pytest.raises(GridInputError, match="at least one prompt"):
        parse_prompts(" \n# only a comment\n", None)
    with pytest.raises(GridInputError, match=f"at most {MAX_PROMPTS}"):
        parse_prompts("\n".join(f"prompt {i}" for i in range(MAX_PROMPTS + 1)))
    with pytest.raises(GridInputError, match="Prompt 2 .* 2001 characters") as caught:
        parse_prompts("ok\n" + "x" * 2001)
    assert caught.value.field == "grid-prompts"


def test_a_prompt_longer_than_a_chosen_model_takes_is_refused():
    with pytest.raises(GridInputError, match="Flux takes at most 1800"):
        small_plan(prompts=("a fox", "y" * 1900))


# --- seeds -------------------------------------------------------------------------------------------------------

def test_a_count_draws_that_many_distinct_seeds_reproducibly():
    seeds = parse_seeds("3", rng_seed=7)
    assert len(set(seeds)) == 3 and all(0 <= s <= MAX_SEED for s in seeds)
    assert parse_seeds("3", rng_seed=7) == seeds
    assert len(parse_seeds("")) == 1


def test_a_list_keeps_its_order_without_duplicates():
    assert parse_seeds("1, 42, 7") == [1, 42, 7]
    assert parse_seeds("1 42 7 42") == [1, 42, 7]
    assert parse_seeds("42,") == [42]
    assert parse_seeds(f"0; {MAX_SEED}") == [0, MAX_SEED]


@pytest.mark.parametrize("text, words", [
    ("0", "give 1 to 8"), ("42", "(42,)"), ("1, -2", "“-2” is not a seed"), ("1.5 2", "not a seed"),
    ("abc", "not a seed"), (f"1 {MAX_SEED + 1}", "too large"), (" ".join(map(str, range(MAX_SEEDS + 1))), "at most 8"),
])
def test_bad_seeds_are_refused(text, words):
    with pytest.raises(GridInputError) as caught:
        parse_seeds(text)
    assert words in caught.value.message and caught.value.field == "grid-seeds"


# --- the plan ----------------------------------------------------------------------------------------------------

def test_two_prompts_three_models_two_seeds_make_twelve_cells_round_robin_over_models():
    cells = small_plan().cells()
    assert len(cells) == 12 and len({c.key for c in cells}) == 12
    assert [c.model_id for c in cells[:3]] == [FLUX.id, TURBO.id, IMAGEN.id]
    assert [(c.prompt_index, c.seed) for c in cells[:6]] == [(0, 1)] * 3 + [(0, 42)] * 3
    assert cells[6].prompt_index == 1 and cells[0].key == "p0-mbfl/flux-1-dev-s0"


def test_each_cell_is_the_shared_settings_adapted_with_its_prompt_and_seed():
    plan = small_plan()
    cell = plan.cell("p1-mbfl/flux-1-dev-s1")
    adapted = plan.adapted(cell)
    assert adapted.params["prompt"] == "a <b>bold</b> cat" and adapted.params["seed"] == 42


def test_too_many_jobs_are_refused_with_the_product():
    prompts = [f"p{i}" for i in range(50)]
    with pytest.raises(GridInputError) as caught:
        small_plan(prompts=prompts, seeds=range(1, 4))
    assert "50 prompts × 3 models × 3 seeds = 450 jobs" in caught.value.message
    assert str(MAX_CELLS) in caught.value.message


def test_models_that_need_an_image_or_none_at_all_are_refused():
    for models in ((), (CATALOG.get("runway/gen-4-image"),)):
        with pytest.raises(GridInputError) as caught:
            small_plan(models=models)
        assert caught.value.field == "grid-models"


# --- preflight ---------------------------------------------------------------------------------------------------

def test_preflight_prices_every_job_and_shares_the_slots():
    plan = small_plan()
    pre = grid_preflight(plan, concurrency=3, expected_seconds={FLUX.id: 10, TURBO.id: 4})
    per_round = FLUX.price.usd + TURBO.price.usd + IMAGEN.price.usd
    assert pre.jobs == 12 and pre.cost_usd == pytest.approx(4 * per_round)
    assert pre.unpriced == () and pre.refusal() is None
    # 4 × (10 + 4 + 12 s, Imagen's from the catalog) through 3 slots, each job on the first free one
    assert 4 * 26 / 3 <= pre.est_seconds == 40
    assert "2 prompts × 3 models × 2 seeds = 12 jobs" in pre.line() and "3 at a time" in pre.line()


def test_time_through_slots_is_never_less_than_the_longest_job():
    assert scheduled_seconds([60, 1, 1], 3) == 60
    assert scheduled_seconds([10] * 4, 2) == 20
    assert scheduled_seconds([5, 5], 0) == 10


def test_a_budget_refuses_what_it_cannot_bound():
    pre = grid_preflight(small_plan(models=(FLUX, SEEDREAM)), budget_usd=10)
    assert pre.unbounded and pre.unpriced == ("Seedream 4",) and pre.unpriced_jobs == 4
    assert "no known price" in pre.refusal() and pre.refusal(allow_unpriced=True) is None
    with pytest.raises(GridInputError) as caught:
        pre.check()
    assert caught.value.field == "grid-budget"
    assert grid_preflight(small_plan(models=(FLUX, SEEDREAM))).refusal() is None  # no cap, nothing to bound


def test_a_budget_refuses_an_estimate_over_it_with_the_numbers():
    pre = grid_preflight(small_plan(), budget_usd=0.05)
    assert pre.over_budget
    assert f"${pre.cost_usd:.3f}" in pre.refusal() and "$0.05" in pre.refusal() and "12 jobs" in pre.refusal()


# --- the contact sheet -------------------------------------------------------------------------------------------

def png(path, color="red", size=(64, 48)):
    Image.new("RGB", size, color).save(path)
    return str(path)


def record(plan, key, phase=Phase.DONE, image_path=None, error=None):
    cell = plan.cell(key)
    model = plan.model(cell.model_id)
    status = {Phase.DONE: "completed", Phase.FAILED: "failed", Phase.CANCELLED: "cancelled"}.get(phase, "processing")
    update = RunUpdate(model_id=model.id, phase=phase, label=str(phase), run_id=f"run-{key}", job_id=f"job-{key}",
                       status=status, seed=cell.seed, timings=RunTimings(elapsed=6.25, queue=1.0, run=5.25),
                       image_path=image_path, image_size=(64, 48) if image_path else None, error=error,
                       params=plan.adapted(cell).params)
    return RunRecord.from_update(update, model)


@pytest.fixture
def ran(tmp_path):
    """The 2×3×2 grid: most cells done with a picture, one failed, one cancelled, one running, one not started."""
    plan = small_plan()
    keys = [c.key for c in plan.cells()]
    records = {k: record(plan, k, image_path=png(tmp_path / f"{i}.png")) for i, k in enumerate(keys[:8])}
    records[keys[8]] = record(plan, keys[8], Phase.FAILED,
                              error=RunError(ErrorKind.INVALID, "The <prompt> was refused."))
    records[keys[9]] = record(plan, keys[9], Phase.CANCELLED)
    records[keys[10]] = record(plan, keys[10], Phase.FOLLOWING)
    return plan, records, keys


def test_the_sheet_has_a_button_for_every_cell_and_escapes_prompts(ran):
    plan, records, keys = ran
    thumbs = {k: thumbnail_data_uri(records[k].image_path) for k in keys[:8]}
    html = contact_sheet_html(plan, records, thumbs)
    assert html.count("data-cell-key=") == 12 and html.count("<img ") == 8
    assert html.count("data-select-key=") == 8  # only finished pictures can go to the diff
    assert "<b>bold</b>" not in html and "a &lt;b&gt;bold&lt;/b&gt; cat" in html
    assert all(f'data-cell-key="{k}"' in html for k in keys)
    assert 'data-phase="failed" title="Check the form: The &lt;prompt&gt; was refused."' in html
    for word in ("Failed", "Cancelled", "Running", "Queued"):
        assert f">{word}</span>" in html
    assert "Flux" in html and "seed 42" in html and "$0.007" in html and "6.2 s" in html
    assert html.startswith('<div class="grid-sheet-wrap"')


def test_long_prompts_are_cut_in_the_header_with_the_full_text_in_its_title():
    long = "a very long prompt " * 10
    html = contact_sheet_html(small_plan(prompts=(long.strip(),)), {}, {})
    assert f'title="{long.strip()}"' in html and "…</th>" in html


def test_a_thumbnail_is_a_small_jpeg_data_uri(tmp_path):
    uri = thumbnail_data_uri(png(tmp_path / "big.png", size=(1024, 512)), side=96)
    image = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert uri.startswith("data:image/jpeg;base64,") and image.format == "JPEG" and image.size == (96, 48)


# --- exports -----------------------------------------------------------------------------------------------------

def test_the_csv_has_a_row_per_cell_in_run_order(ran, tmp_path):
    plan, records, keys = ran
    rows = list(csv.DictReader(open(export_grid_csv(plan, records, tmp_path / "out"), encoding="utf-8")))
    assert [r["cell"] for r in rows] == keys
    assert rows[0]["status"] == "Completed" and rows[0]["model"] == "Flux" and rows[0]["prompt #"] == "1"
    assert rows[8]["status"] == "Failed" and rows[11]["status"] == "Not run" and rows[10]["status"] == "Running"


def test_the_zip_holds_the_pictures_the_csv_and_a_manifest_of_the_plan(ran, tmp_path):
    plan, records, keys = ran
    with zipfile.ZipFile(export_grid_zip(plan, records, tmp_path / "out", base_url="http://x")) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("manifest.json"))
        table = list(csv.DictReader(io.StringIO(archive.read("grid.csv").decode("utf-8"))))
    pngs = {n for n in names if n.endswith(".png")}
    assert len(pngs) == 8 and "p01_bfl-flux-1-dev_s1.png" in pngs and len(table) == 12
    assert image_name(plan.cell(keys[0])) == "p01_bfl-flux-1-dev_s1.png"
    assert manifest["plan"]["prompts"] == list(plan.prompts) and manifest["plan"]["seeds"] == [1, 42]
    assert manifest["plan"]["shared"]["width"] == 1024 and "prompt" not in manifest["plan"]["shared"]
    first, last = manifest["cells"][0], manifest["cells"][11]
    assert first["key"] == keys[0] and first["image"] == "p01_bfl-flux-1-dev_s1.png"
    assert first["run"]["request"]["body"]["seed"] == 1 and first["run"]["job_id"] == f"job-{keys[0]}"
    assert last["run"] is None and last["image"] is None
