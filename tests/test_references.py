"""Reference images: chosen once, uploaded once per session, sent to each model in its own fields, with notes.

Against the real sandbox over loopback (POST /assets, generation bodies that point at the uploaded files)."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from playground.catalog import load_catalog, validate_params
from playground.krea.errors import NotFound
from playground.reference_mapping import apply_references, map_strength
from playground.references import BadReference, Reference, ReferenceSet
from playground.runs import Phase, RunRefused
from playground.service import ComparisonRequest, GenerationRequest
from tests.support import sandbox_service

CATALOG = load_catalog()
COLOURS = ("red", "blue", "green", "orange", "purple", "teal", "pink", "gold", "navy", "olive", "maroon", "lime")


def picture(colour: str, fmt: str = "PNG", size=(48, 32)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, fmt)
    return out.getvalue()


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    with sandbox_service(tmp_path_factory) as running:
        yield running


def assets_at_sandbox(service, session: str) -> list:
    """What the sandbox holds for this session's token: one item per POST /assets it kept."""
    return service.sessions.route(session).client.list_assets().items


def refusal(call) -> RunRefused:
    with pytest.raises(RunRefused) as refused:
        call()
    return refused.value


def final(watch) -> object:
    updates = list(watch)
    return updates[-1]


# --- uploads ---------------------------------------------------------------------------------------------------

def test_the_same_file_used_twice_is_uploaded_once(service, tmp_path):
    path = tmp_path / "fox.png"
    path.write_bytes(picture("red"))
    first = ReferenceSet.of([path], strength=0.6)
    again = ReferenceSet.of([picture("red")], strength=0.6)  # the same bytes, handed over differently
    assert first.references[0].sha256 == again.references[0].sha256

    for refs in (first, again):
        last = final(service.start_generation("up-1", GenerationRequest("krea/krea-2/medium", "a fox", seed=1),
                                              references=refs))
        assert last.phase == Phase.DONE, last.error
    held = assets_at_sandbox(service, "up-1")
    assert len(held) == 1  # one POST /assets for two runs
    cached = service.uploaded_references("up-1")
    assert [c.asset_id for c in cached] == [held[0].id] and cached[0].name == "fox.png"


def test_a_refused_run_uploads_nothing(service):
    refs = ReferenceSet.of([picture("blue")])
    refused = refusal(lambda: service.start_generation(
        "up-2", GenerationRequest("bfl/flux-1-kontext-dev", "make it night"), references=refs))
    assert refused.error.field == "image_url"
    assert assets_at_sandbox(service, "up-2") == []


def test_removing_an_upload_deletes_it_at_the_sandbox_and_a_later_run_uploads_again(service):
    refs = ReferenceSet.of([picture("green")])
    service.upload_references("up-3", refs)
    [cached] = service.uploaded_references("up-3")
    client = service.sessions.route("up-3").client
    assert client.get_asset(cached.asset_id).image_url == cached.url

    assert service.remove_reference("up-3", cached.asset_id) is True
    with pytest.raises(NotFound):
        client.get_asset(cached.asset_id)
    assert service.backend.sandbox.engine.assets.find(cached.asset_id) is None
    assert service.uploaded_references("up-3") == []
    assert service.remove_reference("up-3", cached.asset_id) is False  # nothing of that id left

    urls = service.upload_references("up-3", refs)
    assert list(urls.values()) != [cached.url] and len(assets_at_sandbox(service, "up-3")) == 1


def test_uploads_are_per_session_and_a_new_token_starts_empty(service):
    refs = ReferenceSet.of([picture("orange")])
    service.upload_references("up-4", refs)
    assert service.uploaded_references("up-5") == []
    service.sessions.forget_token("up-4")  # a fresh client (a new sandbox identity): old uploads not reused
    assert service.uploaded_references("up-4") == []


# --- each model in its own fields ------------------------------------------------------------------------------

def test_krea_2_gets_image_style_references_with_the_strength_as_is(service):
    plan = service.plan_generation(GenerationRequest("krea/krea-2/medium", "a fox"),
                                   ReferenceSet.of([picture("red"), picture("blue")], strength=0.7))
    items = plan.body["image_style_references"]
    assert [i["strength"] for i in items] == [0.7, 0.7]
    assert plan.notes == ("2 references sent as image_style_references, strength 0.7",)
    assert plan.estimate_usd == pytest.approx(0.035)  # Krea 2 Medium costs more with style references


def test_seedream_gets_style_images_in_its_own_range_with_a_note(service):
    plan = service.plan_generation(GenerationRequest("bytedance/seedream-4", "a fox"),
                                   ReferenceSet.of([picture("red")], strength=0.5))
    assert [i["strength"] for i in plan.body["style_images"]] == [1.0]  # 0..1 into 0..2 of -2..2
    assert plan.notes == ("1 reference sent as style_images, strength 0.5 → 1.0",)


def test_imagen_gets_no_pictures_and_says_so(service):
    plan = service.plan_generation(GenerationRequest("google/imagen-4", "a fox"),
                                   ReferenceSet.of([picture("red")], edit_image=picture("blue")))
    assert not set(plan.body) & {"image_url", "image_urls", "style_images", "image_style_references"}
    assert plan.notes == ("Imagen 4 takes no reference images: sent without them",)


def test_extra_pictures_past_a_fields_maximum_are_dropped_with_a_note(service):
    many = ReferenceSet.of([picture(c) for c in COLOURS])
    krea = service.plan_generation(GenerationRequest("krea/krea-2/medium", "a fox"), many)
    assert len(krea.body["image_style_references"]) == 10
    assert "image_style_references takes at most 10: 2 references dropped" in krea.notes
    z_image = service.plan_generation(GenerationRequest("z-image/z-image", "a fox"), ReferenceSet.of(
        [picture("red"), picture("blue"), picture("green")]))
    assert len(z_image.body["style_images"]) == 1
    assert z_image.notes[-1] == "style_images takes at most 1: 2 references dropped"


def test_a_strength_outside_0_to_1_is_refused_naming_it(service):
    refused = refusal(lambda: service.plan_generation(GenerationRequest("krea/krea-2/medium", "a fox"),
                                                      ReferenceSet.of([picture("red")], strength=1.5)))
    assert refused.error.field == "references.strength"


def test_a_bad_value_inside_an_image_field_is_refused_naming_its_path(service):
    bad = {"style_images": [{"url": "https://gen.krea.ai/images/x.png", "strength": 5}]}
    refused = refusal(lambda: service.plan_generation(GenerationRequest("bytedance/seedream-4", "a fox",
                                                                        params=bad)))
    assert refused.error.field == "style_images.0.strength" and "between -2 and 2" in refused.error.message


# --- editing models --------------------------------------------------------------------------------------------

def test_flux_kontext_is_refused_without_an_input_image_and_runs_with_one(service):
    request = GenerationRequest("bfl/flux-1-kontext-dev", "make it night", seed=3)
    refused = refusal(lambda: service.start_generation("edit-1", request))
    assert refused.error.field == "image_url" and "Flux Kontext edits a picture" in refused.error.message

    last = final(service.start_generation("edit-1", request,
                                          references=ReferenceSet.of(edit_image=picture("white", "JPEG"))))
    assert last.phase == Phase.DONE, last.error
    [asset] = assets_at_sandbox(service, "edit-1")
    stored = service.store.get(last.run_id).record
    assert stored.params["image_url"] == asset.image_url  # History, re-runs and links send the same picture
    assert stored.notes == ("input image sent as image_url",)


def test_a_stored_body_with_its_picture_runs_again_without_references(service):
    last = final(service.start_generation("edit-2", GenerationRequest("bfl/flux-1-kontext-dev", "night", seed=4),
                                          references=ReferenceSet.of(edit_image=picture("gray"))))
    body = service.store.get(last.run_id).record.params
    again = final(service.start_generation("edit-2", GenerationRequest(
        "bfl/flux-1-kontext-dev", body["prompt"], params={k: v for k, v in body.items() if k != "prompt"},
        seed=body["seed"])))
    assert again.phase == Phase.DONE and again.params["image_url"] == body["image_url"]


# --- comparisons -----------------------------------------------------------------------------------------------

def test_one_reference_set_for_three_models_each_tile_saying_what_was_done(service):
    refs = ReferenceSet.of([picture("red"), picture("blue")], strength=0.5)
    request = ComparisonRequest("a fox", ("krea/krea-2/medium", "bytedance/seedream-4", "google/imagen-4"),
                                width=512, height=512, seed=7)
    plan, snapshots = service.start_comparison("cmp-1", request, references=refs)
    assert [a.notes[-1] for a in plan.adapted] == [
        "2 references sent as image_style_references, strength 0.5",
        "2 references sent as style_images, strength 0.5 → 1.0",
        "Imagen 4 takes no reference images: sent without them",
    ]
    last = list(snapshots)[-1]
    assert [u.phase for u in last.updates] == [Phase.DONE] * 3, [u.error for u in last.updates]

    urls = {a.image_url for a in assets_at_sandbox(service, "cmp-1")}
    assert len(urls) == 2  # two pictures, uploaded once for three models
    krea, seedream, imagen = (service.store.get(u.run_id).record for u in last.updates)
    assert {i["url"] for i in krea.params["image_style_references"]} == urls
    assert {i["url"] for i in seedream.params["style_images"]} == urls
    assert "style_images" not in imagen.params and imagen.notes[-1].startswith("Imagen 4 takes no")
    group, _runs = service.visible_group("cmp-1", plan.group_id)
    assert {r["url"] for r in group.settings["references"]["references"]} == urls


def test_a_comparison_prices_each_body_and_refuses_an_editing_model_without_a_picture(service):
    request = ComparisonRequest("a fox", ("krea/krea-2/medium", "bfl/flux-1-dev"))
    plain = service.plan_comparison("cmp-2", request)
    styled = service.plan_comparison("cmp-2", request, ReferenceSet.of([picture("red")]))
    assert styled.preflight.cost_usd == pytest.approx(plain.preflight.cost_usd + 0.005)

    with_kontext = ComparisonRequest("a fox", ("krea/krea-2/medium", "bfl/flux-1-kontext-dev"))
    refused = refusal(lambda: service.start_comparison("cmp-2", with_kontext,
                                                       references=ReferenceSet.of([picture("red")])))
    assert refused.error.field == "image_url" and "leave Flux Kontext out" in refused.error.message
    assert assets_at_sandbox(service, "cmp-2") == []


# --- the mapping on its own ------------------------------------------------------------------------------------

def test_runway_gets_tagged_reference_images_and_nano_banana_combines_when_editing():
    refs = ReferenceSet.of([picture("red"), picture("blue"), picture("green")], edit_image=picture("white"))
    runway = CATALOG.get("runway/gen-4-image")
    body, notes = apply_references(runway, {"prompt": "@image at night"}, refs)
    assert [i["tag"] for i in body["reference_images"]] == ["image", "ref1", "ref2"]
    assert notes == ("input image and 2 references sent as reference_images tagged @image, @ref1, @ref2 "
                     "(name them in the prompt)", "reference_images takes at most 3: 1 reference dropped")
    assert validate_params(runway, body) == []

    banana = CATALOG.get("google/nano-banana-pro")  # ignores style_images when given image_urls [C SPEC]
    body, notes = apply_references(banana, {"prompt": "x"}, refs)
    assert len(body["image_urls"]) == 4 and "style_images" not in body
    body, notes = apply_references(banana, {"prompt": "x"}, ReferenceSet(refs.references))
    assert len(body["style_images"]) == 3 and "image_urls" not in body


def test_chosen_pictures_replace_what_the_request_had_in_that_field_and_say_so():
    flux = CATALOG.get("bfl/flux-1-dev")
    old = {"prompt": "x", "style_images": [{"url": "https://gen.krea.ai/a.png", "strength": 2}]}
    body, notes = apply_references(flux, old, ReferenceSet.of([picture("red")]),
                                   {Reference.from_bytes(picture("red")).sha256: "https://cdn.example/r.png"})
    assert body["style_images"] == [{"url": "https://cdn.example/r.png", "strength": 1.0}]
    assert notes[0] == "style_images from the request replaced by the chosen pictures"


def test_strength_maps_0_to_1_onto_the_follow_part_of_each_range():
    style_images = CATALOG.get("bytedance/seedream-4").image_input("style_images")
    krea = CATALOG.get("krea/krea-2/medium").image_input("image_style_references")
    assert [map_strength(s, style_images) for s in (0, 0.25, 1)] == [0.0, 0.5, 2.0]
    assert [map_strength(s, krea) for s in (0, 0.6, 1)] == [0.0, 0.6, 1.0]


def test_pictures_are_checked_when_chosen():
    gif = Reference.from_bytes(picture("red", "GIF"), "wave.gif")
    assert gif.mime_type == "image/png" and gif.name == "wave.png"  # converted: POST /assets keeps no GIF
    jpeg = Reference.from_bytes(picture("red", "JPEG"), "photo.jpeg")
    assert (jpeg.mime_type, jpeg.width, jpeg.height) == ("image/jpeg", 48, 32)
    with pytest.raises(BadReference, match="not a picture"):
        Reference.from_bytes(b"hello, not an image", "notes.txt")
    with pytest.raises(BadReference, match="empty"):
        Reference.from_bytes(b"", "empty.png")


def test_a_set_takes_what_upload_widgets_hold():
    refs = ReferenceSet.of([Image.new("RGB", (8, 8), "red"), None, ""], strength="0.25", edit_image=None)
    assert len(refs.references) == 1 and refs.strength == 0.25 and refs.edit_image is None
    refs.check()
    assert ReferenceSet.of([], strength=None).is_empty


# --- LoRA styles (GET /styles) and Krea 2 moodboards, by id -----------------------------------------------------

SANDBOX_STYLES = ["Sandbox Ember", "Sandbox Glacier", "Sandbox Moss", "Sandbox Risograph", "Sandbox Noir"]
MOODBOARD = "5b0a7c6e-1111-4a2b-9c3d-000000000001"


def sandbox_style(service, session: str, title: str, model_id: str | None = None):
    return next(s for s in service.list_styles(session, model_id) if s.title == title)


def test_list_styles_gives_the_sandboxs_five_styles_newest_first(service):
    styles = service.list_styles("sty-1")
    assert [s.title for s in styles] == SANDBOX_STYLES
    assert all(s.id and s.cover_url and "qwen" in s.models for s in styles)


def test_list_styles_for_a_model_keeps_only_the_styles_it_can_take(service):
    assert [s.title for s in service.list_styles("sty-2", "qwen/2512")] == SANDBOX_STYLES
    assert [s.title for s in service.list_styles("sty-2", "krea/krea-2/medium")] == SANDBOX_STYLES
    assert service.list_styles("sty-2", "google/imagen-4") == []  # no styles field: nothing to choose
    assert refusal(lambda: service.list_styles("sty-2", "no/such-model")).error.field == "model"


def test_styles_that_name_their_models_are_kept_only_for_those_models():
    from playground.krea.assets import Style
    from playground.style_list import style_fits

    flux_lora, any_lora = Style("a", "Ink", models=("flux_dev",)), Style("b", "Any")
    video_lora, z_lora = Style("c", "Clip", models=("wan", "wan22")), Style("d", "Zed", models=("Z-Image",))
    fits = {m: [s.id for s in (flux_lora, any_lora, video_lora, z_lora) if style_fits(s, CATALOG.get(m))]
            for m in ("bfl/flux-1-dev", "qwen/2512", "krea/krea-2/large", "z-image/z-image", "google/imagen-4")}
    assert fits == {"bfl/flux-1-dev": ["a", "b"], "qwen/2512": ["b"], "krea/krea-2/large": ["b"],
                    "z-image/z-image": ["b", "d"], "google/imagen-4": []}


def test_the_style_list_is_asked_once_for_a_few_minutes_and_again_on_refresh(service, monkeypatch):
    calls = []
    for session in ("sty-3", "sty-4"):
        client = service.sessions.route(session).client
        real = client.list_styles
        monkeypatch.setattr(client, "list_styles",
                            lambda *a, _real=real, _s=session, **k: calls.append(_s) or _real(*a, **k))
    service.styles.clear()
    service.list_styles("sty-3")
    service.list_styles("sty-3", "qwen/2512")
    service.list_styles("sty-4")  # another sandbox session: the same five styles, not asked again
    assert calls == ["sty-3"]
    assert len(service.list_styles("sty-4", refresh=True)) == 5 and calls == ["sty-3", "sty-4"]


def test_a_style_list_that_cannot_be_had_is_a_refusal_to_show_and_is_not_kept(service, monkeypatch):
    from playground.krea.errors import TransportError

    client = service.sessions.route("sty-5").client
    service.styles.clear()
    monkeypatch.setattr(client, "list_styles", lambda *a, **k: (_ for _ in ()).throw(TransportError("down")))
    refused = refusal(lambda: service.list_styles("sty-5"))
    assert refused.error.field == "styles" and refused.error.message.startswith("The LoRA styles could not be "
                                                                                 "listed: Could not reach")
    monkeypatch.undo()
    assert len(service.list_styles("sty-5")) == 5


def test_a_pasted_tokens_styles_are_its_own_and_lists_go_stale():
    from playground.krea.assets import Style, StylePage
    from playground.style_list import StyleCache

    class Client:
        base_url = "https://api.krea.ai"

        def __init__(self, mine: str):
            self.mine, self.calls = mine, 0

        def list_styles(self, limit=100, cursor=None, filter=None):
            self.calls += 1
            if cursor is None:  # two pages, the second repeating one style: each id once
                return StylePage([Style(self.mine), Style("public-1")], "next")
            return StylePage([Style("public-1"), Style("public-2")], None)

    now = [0.0]
    cache = StyleCache(ttl=300, clock=lambda: now[0])
    ada, bob = Client("ada-style"), Client("bob-style")
    assert [s.id for s in cache.styles(ada, shared=False)] == ["ada-style", "public-1", "public-2"]
    assert [s.id for s in cache.styles(bob, shared=False)][0] == "bob-style"  # never Ada's list
    cache.styles(ada, shared=False)
    assert (ada.calls, bob.calls) == (2, 2)  # two pages each, once
    now[0] = 301.0
    cache.styles(ada, shared=False)
    assert ada.calls == 4  # stale after the ttl: asked again


def test_a_krea_2_run_with_a_moodboard_sends_it_with_its_strength_at_the_moodboard_price(service):
    refs = ReferenceSet.of(moodboard=MOODBOARD, moodboard_strength=0.4)
    request = GenerationRequest("krea/krea-2/medium", "a quiet harbour", seed=3)
    plan = service.plan_generation(request, refs)
    assert plan.body["moodboards"] == [{"id": MOODBOARD, "strength": 0.4}]
    assert plan.notes == (f"moodboard {MOODBOARD} sent, strength 0.4",)
    assert plan.estimate_usd == pytest.approx(0.040)  # Krea 2 Medium with a moodboard [C K2M]

    last = final(service.start_generation("mood-1", request, references=refs))
    assert last.phase == Phase.DONE, last.error
    stored = service.store.get(last.run_id).record
    assert stored.params["moodboards"] == [{"id": MOODBOARD, "strength": 0.4}]
    assert stored.notes == plan.notes and stored.cost_usd == pytest.approx(0.040)
    assert assets_at_sandbox(service, "mood-1") == []  # ids travel as they are: nothing uploaded


def test_a_moodboard_without_a_strength_gets_krea_2s_default():
    body, notes = apply_references(CATALOG.get("krea/krea-2/large"), {"prompt": "x"},
                                   ReferenceSet.of(moodboard=" mb-42 "))
    assert body["moodboards"] == [{"id": "mb-42", "strength": 0.23}]
    assert notes == ("moodboard mb-42 sent, strength 0.23",)


def test_qwen_and_flux_get_the_chosen_lora_style_and_the_sandbox_runs_them(service):
    from playground.references import StyleChoice

    noir = sandbox_style(service, "lora-1", "Sandbox Noir", "qwen/2512")
    qwen = final(service.start_generation("lora-1", GenerationRequest("qwen/2512", "a fox", seed=5),
                                          references=ReferenceSet.of(styles=[StyleChoice.of(noir, 0.8)])))
    assert qwen.phase == Phase.DONE, qwen.error
    stored = service.store.get(qwen.run_id).record
    assert stored.params["styles"] == [{"id": noir.id, "strength": 0.8}]
    assert stored.notes == ("LoRA style Sandbox Noir sent as styles, strength 0.8",)

    flux = final(service.start_generation("lora-1", GenerationRequest("bfl/flux-1-dev", "a fox", seed=5),
                                          references=ReferenceSet.of(styles=[noir])))  # the field's default
    assert flux.phase == Phase.DONE, flux.error
    assert service.store.get(flux.run_id).record.params["styles"] == [{"id": noir.id, "strength": 1.0}]


def test_a_model_without_styles_or_moodboards_gets_a_note_and_no_field_and_still_runs(service):
    ember = sandbox_style(service, "lora-2", "Sandbox Ember")
    refs = ReferenceSet.of(styles=[ember], moodboard=MOODBOARD)
    last = final(service.start_generation("lora-2", GenerationRequest("google/imagen-4", "a fox", seed=2),
                                          references=refs))
    assert last.phase == Phase.DONE, last.error
    stored = service.store.get(last.run_id).record
    assert not {"styles", "moodboards"} & set(stored.params)
    assert stored.notes == ("Imagen 4 takes no LoRA styles: not sent", "Imagen 4 takes no moodboard: not sent")
    assert stored.cost_usd == pytest.approx(0.042)  # nothing sent, nothing added


def test_a_comparison_sends_styles_and_the_moodboard_where_each_model_takes_them(service):
    ember = sandbox_style(service, "cmp-s", "Sandbox Ember")
    refs = ReferenceSet.of([picture("red")], strength=0.5, styles=[ember], moodboard=MOODBOARD)
    request = ComparisonRequest("a fox", ("krea/krea-2/medium", "bfl/flux-1-dev", "google/imagen-4"),
                                width=512, height=512, seed=7)
    plan, snapshots = service.start_comparison("cmp-s", request, references=refs)
    notes = [a.notes for a in plan.adapted]
    assert notes[0][-3:] == ("1 reference sent as image_style_references, strength 0.5",
                             "LoRA style Sandbox Ember sent as styles, strength 1.0",
                             f"moodboard {MOODBOARD} sent, strength 0.23")
    assert notes[1][-2:] == ("LoRA style Sandbox Ember sent as styles, strength 1.0",
                             "Flux takes no moodboard: not sent")
    assert notes[2][-3:] == ("Imagen 4 takes no reference images: sent without them",
                             "Imagen 4 takes no LoRA styles: not sent", "Imagen 4 takes no moodboard: not sent")
    # Krea 2 with style references and a moodboard pays the moodboard rate [C K2]; Flux and Imagen as usual.
    assert plan.preflight.cost_usd == pytest.approx(0.040 + 0.007 + 0.042)
    last = list(snapshots)[-1]
    assert [u.phase for u in last.updates] == [Phase.DONE] * 3, [u.error for u in last.updates]
    group, _runs = service.visible_group("cmp-s", plan.group_id)
    kept = group.settings["references"]
    assert kept["styles"] == [{"id": ember.id, "name": "Sandbox Ember", "strength": None}]
    assert kept["moodboard"] == {"id": MOODBOARD, "strength": None}


def test_style_and_moodboard_strengths_are_checked_by_each_models_range(service):
    from playground.references import StyleChoice

    too_strong = ReferenceSet.of(styles=[StyleChoice("s1", "Ink", 3)])
    refused = refusal(lambda: service.plan_generation(GenerationRequest("qwen/2512", "a fox"), too_strong))
    assert refused.error.field == "styles.0.strength" and "between -2 and 2" in refused.error.message
    pushed_away = service.plan_generation(GenerationRequest("qwen/2512", "a fox"),
                                          ReferenceSet.of(styles=[StyleChoice("s1", "Ink", "-0.5")]))
    assert pushed_away.body["styles"] == [{"id": "s1", "strength": -0.5}]
    refused = refusal(lambda: service.plan_generation(GenerationRequest("krea/krea-2/medium", "a fox"),
                                                      ReferenceSet.of(moodboard="mb-1", moodboard_strength=1.5)))
    assert refused.error.field == "moodboards.0.strength"
    for bad, field in ((ReferenceSet.of(moodboard="not an id"), "references.moodboard"),
                       (ReferenceSet.of(moodboard="mb-1", moodboard_strength="lots"), "references.moodboard_strength"),
                       (ReferenceSet.of(styles=[StyleChoice("s1", strength="x")]), "references.styles"),
                       (ReferenceSet.of(styles=[f"s{i}" for i in range(11)]), "references.styles")):
        assert refusal(lambda: service.plan_generation(GenerationRequest("krea/krea-2/medium", "a fox"),
                                                       bad)).error.field == field


def test_lora_styles_past_a_fields_maximum_are_dropped_by_name_and_each_id_is_sent_once():
    from playground.references import StyleChoice

    chosen = [StyleChoice(f"s{i}", f"Style {i}") for i in range(7)] + [StyleChoice("s0", "again")]
    refs = ReferenceSet.of(styles=chosen)
    assert len(refs.styles) == 7 and not refs.is_empty and refs.pictures == ()
    gpt = CATALOG.get("openai/gpt-image")  # styles: at most 5 [C SPEC]
    body, notes = apply_references(gpt, {"prompt": "x", "styles": [{"id": "old", "strength": 1}]}, refs)
    assert [s["id"] for s in body["styles"]] == ["s0", "s1", "s2", "s3", "s4"]
    assert notes == ("styles from the request replaced by the chosen LoRA styles",
                     "LoRA styles Style 0, Style 1, Style 2, Style 3, Style 4 sent as styles, strength 1.0",
                     "styles takes at most 5: 2 LoRA styles dropped (Style 5, Style 6)")
    assert validate_params(gpt, body) == []
    mixed = ReferenceSet.of(styles=[StyleChoice("a", "Ink", 0.5), StyleChoice("b", "Chalk", -1)])
    assert apply_references(gpt, {"prompt": "x"}, mixed)[1] == (
        "LoRA styles Ink (strength 0.5), Chalk (strength -1.0) sent as styles",)
