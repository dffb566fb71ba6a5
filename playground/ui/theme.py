"""The app's look: its Gradio theme, favicon, and the small script that patches accessibility gaps in Gradio's
own markup."""

from __future__ import annotations

from pathlib import Path

import gradio as gr

FAVICON_PATH = Path(__file__).resolve().parents[2] / "assets" / "favicon.png"

# System fonts only: a web font (Gradio's default themes use Google Fonts or bundled ones) would be one more
# request from every visitor's browser, and an outbound one on a closed network.
SANS = ("ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif")
MONO = ("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "Liberation Mono", "monospace")


class PlaygroundTheme(gr.themes.Soft):
    """Soft's shapes with violet accents on slate, and colours that pass WCAG AA contrast (axe) in light and dark.

    Soft's own violet text (primary 500 on white or on primary 100) and slate 400 secondary text are below 4.5:1;
    here text takes the deeper shades, and white text sits on primary 600 or darker.
    """

    def __init__(self) -> None:
        super().__init__(primary_hue="violet", secondary_hue="sky", neutral_hue="slate", font=list(SANS),
                         font_mono=list(MONO))
        self.name = "krea-playground"
        super().set(
            # Primary buttons: white on violet 600/700 (Soft's violet 500 is 4.2:1 with white).
            button_primary_background_fill="*primary_600",
            button_primary_background_fill_hover="*primary_700",
            button_primary_background_fill_dark="*primary_600",
            button_primary_background_fill_hover_dark="*primary_700",
            button_primary_text_color="white",
            button_primary_text_color_dark="white",
            button_secondary_background_fill_hover_dark="*neutral_500",
            # Secondary text (info lines under fields, .muted, footer): slate 600 on white is 7.6:1.
            body_text_color_subdued="*neutral_600",
            body_text_color_subdued_dark="*neutral_400",
            input_placeholder_color="*neutral_500",
            input_placeholder_color_dark="*neutral_400",
            # Block labels and titles (violet on violet 100), upload prompts: violet 700.
            block_label_text_color="*primary_700",
            block_title_text_color="*primary_700",
            # Chosen checkboxes and radios: white on violet 600, in both modes.
            checkbox_label_background_fill_selected="*primary_600",
            checkbox_label_background_fill_selected_dark="*primary_600",
            checkbox_label_text_color_selected="white",
            checkbox_label_text_color_selected_dark="white",
            # An empty checkbox's edge: Soft's slate 100 on white is all but invisible (3:1 wanted for controls).
            checkbox_border_color="*neutral_500",
            # Links in the brand colour, dark enough on white and light enough on slate.
            link_text_color="*primary_700",
            link_text_color_hover="*primary_800",
            link_text_color_visited="*primary_700",
            link_text_color_active="*primary_800",
            link_text_color_dark="*primary_300",
            link_text_color_hover_dark="*primary_200",
            link_text_color_visited_dark="*primary_300",
            link_text_color_active_dark="*primary_200",
        )


def theme() -> gr.themes.Base:
    return PlaygroundTheme()


# Runs once when the page loads, and again (batched to one animation frame) whenever Gradio adds markup:
# - Gradio's empty image/plot placeholder is a <div aria-label="Empty value"> with no role, which ARIA forbids
#   (axe: aria-prohibited-attr): role="img" makes the label valid.
# - A shown image sits in a <button> (Gradio's select target) whose only content is an <img alt="">: the button
#   gets a name from the block's label.
# - The file upload area is a <button aria-label="Click to upload or drop files"> that shows "Drop File Here -
#   or - Click to Upload": a speech-input user says what they see (axe: label-content-name-mismatch), so the name
#   becomes the visible text.
# - A gallery thumbnail with a caption is a <button aria-label="Thumbnail 1 of 7"> showing the caption: the name
#   becomes "<caption> (Thumbnail 1 of 7)" (same rule). Gradio rewrites that label when the gallery changes, so
#   aria-label changes (and caption text) are watched too; the patch only writes when the value differs: no loop.
A11Y_JS = """
() => {
  if (window.__a11yPatched) return;
  window.__a11yPatched = true;
  const text = (el) => (el ? el.textContent.replace(/\\s+/g, ' ').trim() : '');
  const patch = () => {
    document.querySelectorAll('div.empty[aria-label]:not([role])').forEach((el) => el.setAttribute('role', 'img'));
    document.querySelectorAll('.image-container > button:not([aria-label])').forEach((button) => {
      if (text(button) || !button.querySelector('img')) return;
      const block = button.closest('.block');
      const label = block && text(block.querySelector('[data-testid="block-label"]'));
      button.setAttribute('aria-label', label || 'Image');
    });
    document.querySelectorAll('button.upload-container[aria-label]').forEach((button) => {
      const visible = text(button.querySelector('[data-testid="upload-text"]'));
      if (visible && button.getAttribute('aria-label') !== visible) button.setAttribute('aria-label', visible);
    });
    document.querySelectorAll('button.thumbnail-item[aria-label]').forEach((button) => {
      const caption = text(button.querySelector('.caption-label'));
      const name = button.getAttribute('aria-label');
      if (name !== button.dataset.a11yName) button.dataset.a11yBase = name;  // Gradio's own, new or rewritten
      const wanted = caption ? `${caption} (${button.dataset.a11yBase})` : button.dataset.a11yBase;
      if (name !== wanted) button.setAttribute('aria-label', wanted);
      button.dataset.a11yName = wanted;
    });
  };
  let queued = false;
  new MutationObserver(() => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; patch(); });
  }).observe(document.body, { childList: true, characterData: true, subtree: true,
    attributes: true, attributeFilter: ['aria-label'] });
  patch();
}
"""
