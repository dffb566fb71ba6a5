"""The ``type`` Krea gives a job, and the ``GET /jobs?types=`` filter that reads it.

Krea's job JSON carries a ``type`` the spec does not list: the image-to-image example shows ``"externalImage"``
on a Nano Banana Pro job [C I2I], and the list filter's own example is ``"flux,k1,externalImage"`` [C LIST], with
``loraTraining`` for style training [C GETJOB]. Nothing says which type each model's jobs get; the mapping below is
our inference [I], written down in docs/SANDBOX.md:

* ``flux``: the Flux models Krea runs itself (Flux dev and Flux Kontext dev, priced in Krea's own compute units
  before the USD switch, "optimized for Krea") [I];
* ``k2``: Krea's own Krea 2 family, by analogy with ``k1`` for Krea 1 [I];
* ``externalImage``: every model served through its provider's API (Google, OpenAI, BFL's 1.1 Pro line,
  ByteDance, Ideogram, Luma, Runway, Qwen, Z Image) [C for Nano Banana Pro, I for the rest].
"""

from __future__ import annotations

FLUX = "flux"
KREA_2 = "k2"
EXTERNAL_IMAGE = "externalImage"

# Krea-hosted Flux models, by catalog id (a newer spec's variants of them match by prefix).
_KREA_FLUX = ("bfl/flux-1-dev", "bfl/flux-1-kontext-dev")


def job_type(model_id: str) -> str:
    """The type Krea would give a job of this image model (see the module docstring)."""
    model_id = model_id.removeprefix("image/")
    if model_id.startswith("krea/"):
        return KREA_2
    if any(model_id == flux or model_id.startswith(flux + "-") for flux in _KREA_FLUX):
        return FLUX
    return EXTERNAL_IMAGE


def parse_types(raw: str | None) -> frozenset[str] | None:
    """``types=flux,externalImage`` as a set; None (no filter) when absent or naming no type. Unknown types are
    kept: they simply match no job, as a filter on a type the account never ran would [I]."""
    if raw is None:
        return None
    wanted = frozenset(part.strip() for part in raw.split(",") if part.strip())
    return wanted or None
