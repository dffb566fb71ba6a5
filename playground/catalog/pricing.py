"""What one job will cost, given the body that will be sent.

``Price.usd`` is a model's base price (text to image at its default size). Some fields change it: Krea 2 costs
more with style references and more again with a moodboard, Nano Banana 2 more at 2K and 4K (API-NOTES §7).
Those are the model's ``Price.rules``; a job costs the highest price among the base and the rules that apply,
which is how Krea bills a Krea 2 body with both a moodboard and style references (the moodboard rate) [C K2].
"""

from __future__ import annotations

from typing import Any, Mapping

from .model import Model, PriceRule


def applied_rules(model: Model, body: Mapping[str, Any]) -> tuple[PriceRule, ...]:
    """The price rules of ``model`` that ``body`` triggers, dearest first."""
    if not isinstance(body, Mapping):
        return ()
    rules = [r for r in model.price.rules if r.applies(body)]
    return tuple(sorted(rules, key=lambda r: r.usd, reverse=True))


def estimate_usd(model: Model, body: Mapping[str, Any]) -> float | None:
    """The USD price of one job of ``model`` with ``body``; None when the model has no known USD price."""
    base = model.price.usd
    if base is None:
        return None
    rules = applied_rules(model, body)
    return max(base, rules[0].usd) if rules else base


def estimate_label(model: Model, body: Mapping[str, Any]) -> str:
    """Short text for the form: "$0.040 with a moodboard [C K2M]", or the base price's own label."""
    rules = applied_rules(model, body)
    usd = estimate_usd(model, body)
    if usd is None or not rules or rules[0].usd <= (model.price.usd or 0):
        return model.price.label()
    top = rules[0]
    approx = "" if top.source.startswith("[C") else "~"
    digits = f"{usd:.4f}".rstrip("0")
    digits += "0" * max(0, 3 - len(digits.split(".")[1]))  # $0.040, $0.1575, as Price.label
    return f"{approx}${digits} {top.label} {top.source}"
