"""Facts about the models that the OpenAPI snapshot does not carry, as plain data.

Each fact cites its mark from ``../shared/krea/API-NOTES.md``: [C] confirmed by Krea, [C-old] confirmed only in
an older snapshot, [3P] third-party report, [I] our inference or guess. The derivation in
:mod:`playground.catalog.from_openapi` reads the spec first and fills or corrects it from here.
"""

from __future__ import annotations

from typing import Any

from .model import MAX_SEED

# Provider of each id prefix (the first path segment after /generate/image/). Unknown prefixes are title-cased.
PROVIDERS: dict[str, str] = {
    "krea": "Krea",
    "bfl": "Black Forest Labs",
    "google": "Google",
    "openai": "OpenAI",
    "bytedance": "ByteDance",
    "ideogram": "Ideogram",
    "runway": "Runway",
    "luma": "Luma",
    "qwen": "Alibaba Qwen",
    "z-image": "Z Image",
}

# Display order: the five "popular models" of Krea's docs landing page [C], then the other Krea 2 variants,
# then everything else grouped by provider in this order (unknown providers after, alphabetically), and the
# models that need an input image at the very end.
POPULAR: tuple[str, ...] = (
    "krea/krea-2/medium",
    "bfl/flux-1-dev",
    "google/nano-banana-pro",
    "bytedance/seedream-4",
    "openai/gpt-image-2",
)
SHOWN_FIRST: tuple[str, ...] = POPULAR + ("krea/krea-2/large", "krea/krea-2/medium-turbo")
PROVIDER_ORDER: tuple[str, ...] = (
    "Krea", "Black Forest Labs", "Google", "OpenAI", "ByteDance", "Ideogram", "Luma", "Runway",
    "Alibaba Qwen", "Z Image",
)

# Used when neither the spec nor the facts below give a duration [I].
DEFAULT_EXPECTED_SECONDS = 20.0


def _krea2_schema(resolutions: list[str]) -> dict[str, Any]:
    """Krea 2 request body (API-NOTES §2.2 (1)); Medium and Large share one public shape [C K2L/K2M]."""
    style_item = {  # LoRA styles: items {id, strength} [C SKILLS-G live schema]; the -2..2 range as on Flux [I]
        "type": "object",
        "properties": {"id": {"type": "string"}, "strength": {"type": "number", "minimum": -2, "maximum": 2}},
        "required": ["id"],
    }
    ref_item = {  # style references: strength 0 (none) .. 1 (max), default 0.5 [C K2]
        "type": "object",
        "properties": {
            "url": {"type": "string", "format": "uri"},
            "strength": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.5},
        },
        "required": ["url"],
    }
    moodboard_item = {  # {id: moodboard UUID, strength 0..1 default 0.23} [C SKILLS-G live schema]
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "strength": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.23},
        },
        "required": ["id"],
    }

    def slider(label: str) -> dict[str, Any]:  # generative sliders, -100..100, 0 neutral [C K2 sliders page]
        return {"type": "integer", "minimum": -100, "maximum": 100, "default": 0, "description": label}

    return {
        "type": "object",
        "properties": {
            "prompt": {"type": "string", "minLength": 1},  # no max length documented [C by absence]
            "aspect_ratio": {
                "type": "string",
                "enum": ["1:1", "4:3", "3:2", "16:9", "2.35:1", "4:5", "2:3", "9:16"],  # [C K2L]
            },
            "resolution": {"type": "string", "enum": resolutions},  # 1K [C]; Turbo also 2K [3P]
            "seed": {"type": ["number", "null"]},  # random when omitted [I]
            "creativity": {"type": "string", "enum": ["raw", "low", "medium", "high"], "default": "medium"},  # [C]
            "intensity": slider("Generative slider: intensity"),
            "complexity": slider("Generative slider: complexity"),
            # Documented on the sliders page [C], missing from the 2026-06-11 live schema [C SKILLS-G]: kept.
            "movement": slider("Generative slider: movement"),
            "styles": {"type": "array", "items": style_item, "description": "LoRA styles"},
            "image_style_references": {
                "type": "array", "items": ref_item, "maxItems": 10, "description": "Style reference images",  # [C]
            },
            "moodboards": {
                "type": "array", "items": moodboard_item, "maxItems": 1, "description": "One moodboard",  # [C]
            },
        },
        "required": ["prompt", "aspect_ratio", "resolution"],  # required per the K2L schema [C]
        "additionalProperties": False,
    }


# Endpoints that the 2026-05 snapshot predates [C: not in SPEC]. A newer spec that has them wins.
EXTRA_MODELS: dict[str, dict[str, Any]] = {
    "krea/krea-2/medium": {"summary": "Krea 2 Medium", "schema": _krea2_schema(["1K"])},
    "krea/krea-2/large": {"summary": "Krea 2 Large", "schema": _krea2_schema(["1K"])},
    "krea/krea-2/medium-turbo": {"summary": "Krea 2 Medium Turbo", "schema": _krea2_schema(["1K", "2K"])},
}

_KREA2_SIZE_DEFAULTS = {
    # Krea documents both as required with no default [C K2L]; 3P summaries claim 1:1 [3P]. We keep them
    # required but give the form these defaults, so every request we send carries both fields [I].
    "aspect_ratio": {"default": "1:1"},
    "resolution": {"default": "1K"},
}

# Bounds for numbers the spec leaves open: (minimum, maximum). They only fill a bound the spec does not give, so
# a newer spec that documents one wins over these. With them every integer/number param of every model has both
# bounds (tests/catalog/test_bounds.py checks it): no number of any size leaves the app unchecked.
# By param name, for every model that has a param of that name:
BOUNDS_BY_NAME: dict[str, tuple[float, float]] = {
    # Unsigned 32-bit [I]: no range is documented [C by absence]; the spec's random seed defaults go past
    # 2**31 - 1 (3317551338, API-NOTES §2.1 "Seeds") [C SPEC]; our sandbox draws seeds from 0..2**32 - 1 too.
    "seed": (0, MAX_SEED),
}
# By model id, then param name (these win over BOUNDS_BY_NAME):
_NANO_BANANA_SIZE = {
    # No bounds documented (API-NOTES §2.2 (3), §2.3) [C by absence]. 256 as Flux 1.1 Pro's minimum, 8192 as
    # the other width/height models' maximum; Google's largest 4K output (~6336 px wide at 21:9) fits [I].
    "width": (256, 8192),
    "height": (256, 8192),
}
_FLUX_STRENGTH = {
    # img2img strength with image_url; no range in the spec [C by absence]. 0 (keep the image) .. 1 (ignore it),
    # the default 1 being the top, as Z Image's denoising_strength 0..1 [C SPEC] [I].
    "strength": (0, 1),
}
_SEEDREAM_SIZE = {
    # The spec gives only a maximum of 4096 and no minimum [C SPEC]. The 512 this catalog once added was a form
    # convenience without evidence, so it refused spec-valid bodies; now the only floor is one pixel, which no
    # size can go under (a documented divergence: the spec alone would take 0 or -5). The 4096 maximum is the
    # spec's and wins over the one here. ByteDance's own API wants ~0.9 MP or more in all [3P], but the spec's
    # 1024x1024 example bodies are below Seedream 5 Lite's native 2K floor [3P], so Krea rescales: no evidence
    # that Krea refuses a small size.
    "width": (1, 4096),
    "height": (1, 4096),
}
PARAM_BOUNDS: dict[str, dict[str, tuple[float, float]]] = {
    "openai/gpt-image-2": {
        # The spec gives no bounds (API-NOTES §2.2 (5)) [C-old SPEC]. OpenAI's gpt-image-2 limits [3P]: longest
        # side at most 3840, sides multiples of 16, long side at most 3x the short, 655,360..8,294,400 pixels
        # in all. The per-side range those allow: at most 3840; at least 480, since a short side s gives at most
        # 3s * s pixels and 3s^2 >= 655,360 needs s >= 468 (480 on the 16 grid). The pixel-count and shape
        # rules span two fields and are only noted (FACTS), not checked here. A documented divergence: the spec
        # takes any number, but OpenAI refuses these sizes, so such a job could only fail.
        "width": (480, 3840),
        "height": (480, 3840),
    },
    "google/nano-banana-pro": _NANO_BANANA_SIZE,
    "google/nano-banana-2": _NANO_BANANA_SIZE,
    "google/nano-banana": _NANO_BANANA_SIZE,
    "qwen/2512": {
        # Nothing documented beyond the defaults (API-NOTES §2.3) [C by absence], so all four are [I]. Sides:
        # Qwen-Image's recommended sizes reach 1664 px [3P], so 256..2048 keeps every one of them [I].
        "width": (256, 2048),
        "height": (256, 2048),
        # Default 30; as Flux's steps 1..100 [C SPEC], and a third-party Qwen-Image host takes 1..100 [3P] [I].
        "num_inference_steps": (1, 100),
        # Default 4; that host takes guidance 0..20 [3P]; the 50 once sent is refused [I].
        "cfg_scale": (0, 20),
    },
    "bfl/flux-1-dev": _FLUX_STRENGTH,
    "bfl/flux-1-kontext-dev": _FLUX_STRENGTH,
    "bytedance/seedream-4": _SEEDREAM_SIZE,
    "bytedance/seedream-5-lite": _SEEDREAM_SIZE,
}

# Corrections to single parameters: model id -> param name -> Param field -> value.
PARAM_OVERRIDES: dict[str, dict[str, dict[str, Any]]] = {
    "krea/krea-2/medium": _KREA2_SIZE_DEFAULTS,
    "krea/krea-2/large": _KREA2_SIZE_DEFAULTS,
    "krea/krea-2/medium-turbo": _KREA2_SIZE_DEFAULTS,
    # A documented divergence from the spec, kept on evidence: the 2026-05 spec [C-old for this model] sets no
    # multipleOf, but Krea's live endpoint refused sizes that are not multiples of 16, e.g. 1080x1350 [C SKILLS-G
    # field report, 2026-05-17]. Sending one would only earn that refusal, so it is refused here first (and the
    # sandbox answers as the live API did).
    "openai/gpt-image-2": {"width": {"multiple_of": 16}, "height": {"multiple_of": 16}},
}

# Per model: display name (only where the spec summary is not what we show), our own one-line description,
# previews, needs_image, expected seconds (only where the spec table has none) with its source, price, notes.
# Prices: a [C] USD figure, else a [3P] one, else usd None and the spec's compute units (API-NOTES §7).
FACTS: dict[str, dict[str, Any]] = {
    "krea/krea-2/medium": {
        "description": "Krea's own model, at its best on expressive illustration; quick, cheap, shows previews.",
        "previews": True,  # "has generation previews" [C SKILLS-G, weak]
        "seconds": (8, "[I] guess: smaller and faster than Large"),
        "price": (0.030, "per image at 1K", "confirmed"),  # [C K2M]
        "notes": ("$0.035 with style references, $0.040 with a moodboard.",  # [C K2M]
                  "aspect_ratio and resolution are required; the form always sends them (default 1:1, 1K)."),
    },
    "krea/krea-2/large": {
        "description": "Krea's larger model, aimed at expressive photorealism; slower and dearer than Medium.",
        "previews": True,  # [C SKILLS-G, weak]
        "seconds": (15, "[I] guess: more than twice Medium's size"),
        "price": (0.060, "per image at 1K", "confirmed"),  # [C K2L]
        "notes": ("$0.065 with style references, $0.070 with a moodboard.",  # [C K2L]
                  "aspect_ratio and resolution are required; the form always sends them (default 1:1, 1K)."),
    },
    "krea/krea-2/medium-turbo": {
        "description": "The quickest and cheapest Krea 2 variant, for fast drafts; reportedly up to 2K.",
        "previews": True,  # same family as Medium [C SKILLS-G, weak]
        "seconds": (4, "[I] guess: the fastest Krea 2 variant"),
        "price": (0.015, "per image at 1K", "third-party"),  # [3P]
        "notes": ("2K resolution and the price come from third-party reports only.",),
    },
    "bfl/flux-1-dev": {
        "description": "FLUX.1 [dev] hosted by Krea: fast, with steps, guidance and LoRA styles.",
        "previews": True,  # [I] a Krea-hosted model, so its own pipeline can stream previews
        "price": (0.007, "per image", "third-party"),  # [3P]
        # [I] rename: Flux Kontext docs list guidance_scale_flux -> guidance_scale as a deprecated alias.
        "notes": ("Guidance is sent as guidance_scale_flux, as in the 2026-05 spec; newer docs may call it "
                  "guidance_scale.",),
    },
    "bfl/flux-1-kontext-dev": {
        "description": "Flux for editing: reworks the image you give it according to the prompt.",
        "previews": True,  # [I] Krea-hosted, as Flux
        "needs_image": True,  # an editing model [C SPEC summary], although image_url is optional in the schema
        "price": (0.0128, "per image", "confirmed"),  # [C KONTEXT]
        "notes": ("Give it an image_url to edit.",),
    },
    "google/nano-banana-pro": {
        "description": "Google's most capable model: reasons over long prompts and renders text well; slow.",
        "seconds": (20, "[I] guess"),
        "price": (0.15, "per image", "third-party"),  # [3P]
        "notes": ("With image_urls given, style_images are ignored.",  # [C SPEC]
                  "May ignore an aspect-ratio-only request; explicit width and height are safer."),  # [C SKILLS-G]
    },
    "google/nano-banana-2": {
        "description": "A cheaper, quicker Nano Banana with output up to 4K.",
        "seconds": (15, "[I] guess"),
        "price": (0.08, "per image at 1K", "confirmed"),  # [C NB2]; a [3P] $0.06 conflicts
        "notes": ("$0.12 at 2K, $0.16 at 4K.", "With image_urls given, style_images are ignored."),  # [C NB2, SPEC]
    },
    "google/nano-banana": {
        "description": "Google's original Nano Banana: versatile generation and editing from references.",
        "seconds": (12, "[I] guess"),
        "notes": ("With image_urls given, style_images are ignored.",),  # [C SPEC]
    },
    "bfl/flux-1.1-pro": {
        "description": "BFL's hosted Pro model: solid quality at moderate cost, sizes 256 to 1440 px.",
        "seconds": (10, "[I] guess"),
        "price": (0.06, "per image", "third-party"),  # [3P]
    },
    "bfl/flux-1.1-pro-ultra": {
        "description": "BFL's top tier for large pictures, with an optional raw photographic look.",
        "seconds": (15, "[I] guess"),
    },
    "ideogram/ideogram-2-turbo": {
        "name": "Ideogram 2 Turbo",
        "description": "A distilled, quick Ideogram that handles lettering and posters well.",
        "seconds": (8, "[I] guess"),
    },
    "ideogram/ideogram-3": {
        "name": "Ideogram 3",
        "description": "Ideogram's polished all-rounder; strong on text in images, takes character references.",
        "seconds": (15, "[I] guess"),
        "price": (0.063, "per image without character references", "third-party"),  # [3P]
        "notes": ("About $0.16 with character reference images (third-party figure).",),  # [3P] $0.1575
    },
    "google/imagen-3": {
        "description": "Google's previous Imagen generation.",
        "seconds": (12, "[I] guess"),
    },
    "google/imagen-4": {
        "description": "Google's current Imagen: balanced quality and speed.",
        "seconds": (12, "[I] guess"),
        "price": (0.042, "per image", "third-party"),  # [3P]
    },
    "google/imagen-4-fast": {
        "description": "The quickest and cheapest Imagen 4.",
        "seconds": (6, "[I] guess"),
        "price": (0.021, "per image", "confirmed"),  # [C IMG4F]
    },
    "google/imagen-4-ultra": {
        "description": "The highest-fidelity Imagen 4.",
        "seconds": (20, "[I] guess"),
        "price": (0.063, "per image", "third-party"),  # [3P]
        "notes": ("Has been seen ignoring the requested shape and returning 1024x1024.",),  # [C SKILLS-G]
    },
    "runway/gen-4-image": {
        "description": "Runway's cinematic stills, steered by one to three tagged reference images.",
        # Item shape and count [C SPEC]; the @tag convention is Runway's own usage [I].
        "notes": ("Needs 1 to 3 reference_images, each {url, tag}; refer to a tag in the prompt with @tag.",),
    },
    "openai/gpt-image": {
        "name": "ChatGPT Image",
        "description": "OpenAI's first ChatGPT image model: careful prompt following, but slow.",
        "price": (0.03, "per image", "third-party"),  # [3P]
    },
    "openai/gpt-image-2": {
        "name": "GPT Image 2",  # Krea's docs call it "ChatGPT 2" [C]
        "description": "OpenAI's newer image model, good at edits and lettering; sizes in steps of 16; slow.",
        "notes": ("width and height are required and must be multiples of 16.",  # [C SPEC] + [C SKILLS-G]
                  # OpenAI's gpt-image-2 size limits [3P]; see PARAM_BOUNDS.
                  "Each side 480 to 3840 px; OpenAI also wants 655,360 to 8,294,400 pixels in all and the long "
                  "side at most 3 times the short (third-party reports of OpenAI's limits).",
                  # The GPT2 page [C] shows aspect_ratio/resolution; the live API rejected aspect_ratio alone.
                  "Newer docs add optional aspect_ratio/resolution; this catalog keeps the 2026-05 spec shape "
                  "(width and height only), which the live API accepts."),
    },
    "luma/uni-1": {
        "description": "Luma's reasoning model that plans before drawing; faithful to long prompts.",
        "seconds": (30, "[I] guess: a reasoning model"),
    },
    "bytedance/seedream-4": {
        "description": "ByteDance's photoreal model with clean text rendering, up to 4096 px.",
        "seconds": (20, "[C-old BILL] ~20 s"),
        "notes": ("width and height are required, up to 4096.",),
    },
    "bytedance/seedream-5-lite": {
        "description": "A lighter Seedream that reasons and can search the web; replaces Seedream 3.",
        "seconds": (25, "[I] guess"),
        "price": (0.0368, "per image", "confirmed"),  # [C SD5L]; a [3P] $0.04 conflicts
        "notes": ("width and height are required, up to 4096.",),
    },
    "qwen/2512": {
        "description": "Alibaba's Qwen image model: affordable, with a negative prompt and CFG control.",
    },
    "z-image/z-image": {
        "description": "A tiny, very fast and very cheap model; realistic, with little variety between seeds.",
        "price": (0.003, "per image", "third-party"),  # [3P]
    },
    "bytedance/seededit": {
        "description": "ByteDance's editor: changes the image you give it as the prompt asks.",
        "seconds": (20, "[I] guess"),
    },
}

# --- image inputs ---------------------------------------------------------------------------------------------
# What the spec does not say about a model's image fields (see playground/catalog/image_inputs.py): model id ->
# field -> facts. Keys: max_items (+ max_items_source) where the spec gives no maxItems (a newer spec's own wins),
# required (+ required_source) where the spec leaves the field optional but the model cannot run without it,
# strength_field (a top-level field that sets a single edit image's strength) and strength_source, data_uri
# (+ data_uri_source): a data:image/...;base64, URI is taken in place of a URL, schema_source: where the schema
# of a model the spec lacks comes from, help: a sentence added to the field's help.
_KREA2_IMAGE_INPUTS: dict[str, dict[str, Any]] = {
    "image_style_references": {
        "schema_source": "[C K2L/K2M]",
        "strength_source": "[C K2]",
        # ZDR requires every external input to be a data URI, and ZDR is offered on the Krea 2 endpoints [C ZDR].
        "data_uri": True, "data_uri_source": "[C ZDR]",
        "help": "Start near strength 0.6 (Krea's advice).",  # [C K2]
    },
    "moodboards": {"schema_source": "[C K2 'limited to one moodboard'; item shape C SKILLS-G live schema]",
                   "strength_source": "[C SKILLS-G live schema]"},
    "styles": {"schema_source": "[C SKILLS-G live schema]", "strength_source": "[I] as Flux's LoRA styles"},
}
_EDIT_STRENGTH = {"strength_field": "strength", "strength_source": "[C SPEC default 1; range I]"}
_GOOGLE_14 = {
    # Google's Gemini 3 image models (Nano Banana Pro and 2 behind Krea) take up to 14 reference images [3P].
    "max_items": 14, "max_items_source": "[3P: Google's limit for Gemini 3 image models]",
    "help": "With these given, image prompts (style_images) are ignored.",  # [C SPEC description]
}
IMAGE_INPUT_FACTS: dict[str, dict[str, dict[str, Any]]] = {
    "krea/krea-2/medium": _KREA2_IMAGE_INPUTS,
    "krea/krea-2/large": _KREA2_IMAGE_INPUTS,
    "krea/krea-2/medium-turbo": _KREA2_IMAGE_INPUTS,
    "bfl/flux-1-dev": {"image_url": {**_EDIT_STRENGTH, "help": "Image-to-image; 'strength' sets how far from it "
                                                                "the result may go."}},
    "bfl/flux-1-kontext-dev": {
        "image_url": {
            **_EDIT_STRENGTH,
            # Optional in the spec, but the model is "an editing model" [C SPEC summary, KONTEXT]: refused without
            # one (a documented divergence: the spec alone would take a prompt-only body).
            "required": True, "required_source": "[C SPEC summary: an editing model; I: refused without]",
        },
    },
    "z-image/z-image": {"image_url": {"strength_field": "denoising_strength"}},
    "google/nano-banana-pro": {"image_urls": _GOOGLE_14},
    "google/nano-banana-2": {"image_urls": _GOOGLE_14},
    "google/nano-banana": {"image_urls": {"help": _GOOGLE_14["help"]}},
    "ideogram/ideogram-3": {
        "character_reference_images": {
            # Ideogram's own API reference: "currently only supports 1 character reference image" [3P].
            "max_items": 1, "max_items_source": "[3P: Ideogram's API reference]",
            "help": "Costs more (third-party figure: about $0.16 instead of $0.063).",
        },
    },
}

# --- LoRA styles ---------------------------------------------------------------------------------------------
# (used by playground/style_list.py)
# Which names in a style's ``models`` (GET /styles: "Compatible model names (e.g., flux_dev, wan)") mean a catalog
# model, compared without case and with "-" as "_". Krea trains LoRAs for flux_dev, flux_schnell, wan, wan22, qwen
# and z-image [C SPEC POST /styles/train]; the names for Krea 2 and ChatGPT Image are the sandbox's [I]. A key
# ending in "/" covers a family. A model that takes `styles` but is not here keeps every style (we cannot tell).
STYLE_MODEL_NAMES: dict[str, tuple[str, ...]] = {
    "bfl/flux-1-dev": ("flux_dev",),
    "krea/krea-2/": ("krea_2",),
    "qwen/2512": ("qwen",),
    "z-image/z-image": ("z_image",),
    "openai/gpt-image": ("gpt_image",),
}


# --- prices that depend on the body --------------------------------------------------------------------------
# model id -> (field, USD, label, source[, equals]). The job costs the highest price that applies (a body with
# both a moodboard and style references pays the moodboard rate, as Krea bills it [C K2]).
PRICE_RULES: dict[str, tuple[tuple[Any, ...], ...]] = {
    "krea/krea-2/medium": (
        ("image_style_references", 0.035, "with style references", "[C K2M]"),
        ("moodboards", 0.040, "with a moodboard", "[C K2M]"),
    ),
    "krea/krea-2/large": (
        ("image_style_references", 0.065, "with style references", "[C K2L]"),
        ("moodboards", 0.070, "with a moodboard", "[C K2L]"),
    ),
    "krea/krea-2/medium-turbo": (
        # No figure published: Medium's and Large's steps (+$0.005, +$0.010) on Turbo's [3P] $0.015 [I].
        ("image_style_references", 0.020, "with style references", "[I] +$0.005 as Medium and Large"),
        ("moodboards", 0.025, "with a moodboard", "[I] +$0.010 as Medium and Large"),
    ),
    "google/nano-banana-2": (
        ("resolution", 0.12, "at 2K", "[C NB2]", "2K"),
        ("resolution", 0.16, "at 4K", "[C NB2]", "4K"),
    ),
    "ideogram/ideogram-3": (
        ("character_reference_images", 0.1575, "with character references", "[3P]"),
    ),
}

# Sunset models: Krea answers 410 with this body (API-NOTES §5.1) [C DEPR].
RETIRED: tuple[dict[str, Any], ...] = (
    {
        "id": "bytedance/seedream-3",
        "name": "Seedream 3",
        "sunset_date": "2026-05-13",  # [C DEPR]
        "replacement": "bytedance/seedream-5-lite",  # [C DEPR]
        # Wording modelled on the DEPR example body [C]; the exact text for this model is not stored [I].
        "message": "The model 'image/bytedance/seedream-3' was deprecated on 2026-05-13. "
                   "Use 'image/bytedance/seedream-5-lite' instead.",
        "migration_url": "https://docs.krea.ai/developers/deprecations#seedream-3",  # anchor guessed [I]
    },
)
