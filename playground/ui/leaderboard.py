"""The arena's leaderboard as HTML: standings with their intervals and rank bands, the win-rate heatmap, and the
frame of the score-against-cost plot. Pure functions of votes and run records."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from html import escape

import pandas as pd

from playground.arena import ModelCosts
from playground.rating import Standing, Vote, win_matrix


def _money(value: float | None) -> str:
    return "–" if value is None else f"${value:.3f}"


def _secs(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f} s"


def leaderboard_html(standings: Sequence[Standing], costs: Mapping[str, ModelCosts], names: Mapping[str, str],
                     votes: int) -> str:
    if not standings:
        return ('<p class="arena-empty">No votes yet. Start a round, judge the two images, and the models appear '
                "here with their scores.</p>")
    rows = []
    for s in standings:
        c = costs.get(s.model)
        interval = (f"{s.lower:.0f}–{s.upper:.0f}" if not (math.isnan(s.lower) or math.isnan(s.upper)) else "–")
        record = f"{s.wins}–{s.ties}–{s.losses}" + (f" · {s.both_bad} both bad" if s.both_bad else "")
        rows.append(
            f'<tr data-model="{escape(s.model)}"><td class="rank">{escape(s.rank_band)}</td>'
            f"<th scope=row>{escape(names.get(s.model, s.model))}</th>"
            f'<td class="num">{s.rating:.0f}</td><td class="num ci">{interval}</td>'
            f'<td class="num">{s.votes}</td><td class="num">{record}</td>'
            f'<td class="num">{_secs(c.median_s if c else None)}</td>'
            f'<td class="num">{_money(c.median_usd if c else None)}</td></tr>')
    return (
        f'<div class="arena-board-wrap"><table class="arena-board" aria-label="Leaderboard, {votes} votes">'
        "<thead><tr><th scope=col title='Ranks the 95% intervals allow: models whose intervals overlap share a "
        "band'>Rank</th><th scope=col>Model</th><th scope=col>Score</th><th scope=col>95% interval</th>"
        "<th scope=col>Votes</th><th scope=col title='wins–ties–losses'>W–T–L</th>"
        "<th scope=col>Median time</th><th scope=col>Median cost</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
        f'<p class="arena-method">Bradley–Terry scores with ties as half wins (Elo scale, 1000 = average), '
        f"95% intervals from 500 bootstrap resamples of {votes} vote{'s' if votes != 1 else ''}. "
        "Time and cost: medians over the arena images each model made.</p>")


def _cell_colour(rate: float) -> str:
    """Red (always lost) through neutral to green (always won); mixed in CSS so it follows light and dark."""
    if rate >= 0.5:
        return f"color-mix(in srgb, #16a34a {round((rate - 0.5) * 2 * 70)}%, transparent)"
    return f"color-mix(in srgb, #dc2626 {round((0.5 - rate) * 2 * 70)}%, transparent)"


def win_matrix_html(votes: Sequence[Vote], names: Mapping[str, str], order: Sequence[str] = ()) -> str:
    """How often the row model beat the column model (ties half), coloured; empty where they never met."""
    if not votes:
        return ""
    rates, counts = win_matrix(votes)
    models = [m for m in order if m in rates.index] + [m for m in rates.index if m not in order]
    head = "".join(f"<th scope=col>{escape(names.get(m, m))}</th>" for m in models)
    rows = []
    for row in models:
        cells = []
        for col in models:
            rate, n = rates.loc[row, col], int(counts.loc[row, col])
            if row == col or n == 0 or pd.isna(rate):
                cells.append('<td class="none">·</td>')
                continue
            label = f"{names.get(row, row)} beat {names.get(col, col)} in {rate:.0%} of {n} vote{'s' if n != 1 else ''}"
            cells.append(f'<td style="background:{_cell_colour(float(rate))}" title="{escape(label)}" '
                         f'aria-label="{escape(label)}">{rate:.0%}<small> n={n}</small></td>')
        rows.append(f"<tr><th scope=row>{escape(names.get(row, row))}</th>{''.join(cells)}</tr>")
    return (f'<div class="arena-board-wrap"><table class="arena-matrix" aria-label="Win rate of the row model '
            f'against the column model"><thead><tr><th scope=col>row beats column</th>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def cost_plot_svg(standings: Sequence[Standing], costs: Mapping[str, ModelCosts], names: Mapping[str, str],
                  width: int = 640, height: int = 280) -> str:
    """Score (with its 95% interval as a bar) against median cost per image, one labelled point per priced model;
    an inline SVG, so it scales to any width and follows the page's colours."""
    points = [(s, costs[s.model].median_usd) for s in standings
              if s.model in costs and costs[s.model].median_usd is not None]
    if not points:
        return ('<p class="arena-method">Score against cost: no model with a known price has arena images yet.</p>'
                if standings else "")
    pad_l, pad_r, pad_t, pad_b = 52, 16, 14, 38
    xs = [c for _, c in points]
    lows = [s.lower if not math.isnan(s.lower) else s.rating for s, _ in points]
    highs = [s.upper if not math.isnan(s.upper) else s.rating for s, _ in points]
    x0, x1 = 0.0, max(xs) * 1.15 or 0.01
    y0, y1 = min(lows) - 20, max(highs) + 20

    def px(cost: float) -> float:
        return pad_l + (cost - x0) / (x1 - x0) * (width - pad_l - pad_r)

    def py(score: float) -> float:
        return pad_t + (y1 - score) / (y1 - y0) * (height - pad_t - pad_b)

    parts = [f'<line x1="{pad_l}" y1="{height - pad_b}" x2="{width - pad_r}" y2="{height - pad_b}" class="axis"/>',
             f'<line x1="{pad_l}" y1="{pad_t}" x2="{pad_l}" y2="{height - pad_b}" class="axis"/>']
    for k in range(5):  # gridlines and ticks
        cost = x0 + (x1 - x0) * k / 4
        score = y0 + (y1 - y0) * k / 4
        parts.append(f'<text x="{px(cost):.1f}" y="{height - pad_b + 16}" text-anchor="middle">${cost:.3f}</text>')
        parts.append(f'<line x1="{pad_l}" y1="{py(score):.1f}" x2="{width - pad_r}" y2="{py(score):.1f}" '
                     'class="grid"/>')
        parts.append(f'<text x="{pad_l - 6}" y="{py(score) + 4:.1f}" text-anchor="end">{score:.0f}</text>')
    for (s, cost), low, high in zip(points, lows, highs):
        name = escape(names.get(s.model, s.model))
        x, y = px(cost), py(s.rating)
        parts.append(f'<g class="pt"><title>{name}: score {s.rating:.0f} ({low:.0f}–{high:.0f}), '
                     f'${cost:.3f} per image</title>'
                     f'<line x1="{x:.1f}" y1="{py(high):.1f}" x2="{x:.1f}" y2="{py(low):.1f}" class="ci"/>'
                     f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5"/>'
                     f'<text x="{x + 8:.1f}" y="{y - 6:.1f}" class="label">{name}</text></g>')
    parts.append(f'<text x="{(pad_l + width - pad_r) / 2:.0f}" y="{height - 4}" text-anchor="middle" '
                 'class="title">median cost per image</text>')
    parts.append(f'<text x="12" y="{(pad_t + height - pad_b) / 2:.0f}" text-anchor="middle" class="title" '
                 f'transform="rotate(-90 12 {(pad_t + height - pad_b) / 2:.0f})">score</text>')
    return (f'<figure class="arena-plot"><figcaption>Score against cost (bars: 95% intervals)</figcaption>'
            f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="Score against median cost per image for '
            f'{len(points)} models">{"".join(parts)}</svg></figure>')
