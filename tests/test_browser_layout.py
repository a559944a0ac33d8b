"""Every page at a projector's 800 px, in dark mode: no button, label, tab or metric has its text cut; and the
tables a presenter shows (documents, chunks, catalogue, evaluation results, before and after a fact edit, the
session's questions, the dataset) at 1280 and 800 px: none runs past its right edge, no column cuts its header
or a cell, no choice box cuts its value.

Uses the app, server and browser of ``test_browser.py`` (``bench/browser.py``); one server per test.
Screenshots go to ``$PLAYGROUND_SCREENSHOTS`` when set, else to the test's temp folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.browser import chromium, serve

pytestmark = pytest.mark.slow

PAGES = {  # URL path -> a text the page shows once drawn
    "": "Ready: ",
    "documents": "document(s)",
    "models": "Models",
    "compare": "Ask",
    "claims": "Run all",
    "decide": "Your situation",
    "finetune": "Build dataset",
    "evaluate": "Run evaluation",
}
# The elements whose text must show whole: a cut one overflows its box (Streamlit ends it with "…").
CUT = """() => {
  const shown = ['button', '[role=tab]', 'label', '[data-testid=stMetricValue]', '[data-testid=stMetricLabel]']
    .flatMap((part) => [part, `${part} *`]).join(', ');  // the clipping box may be the text's parent
  const cut = [];
  for (const el of document.querySelectorAll(shown)) {
    const box = el.getBoundingClientRect();
    if (!box.width || !box.height || el.closest('[data-testid=stSidebar][aria-expanded=false]')) continue;
    const style = getComputedStyle(el);
    const clips = style.textOverflow === 'ellipsis' || style.overflowX === 'hidden' || style.overflow === 'hidden';
    if (clips && el.scrollWidth > el.clientWidth + 1 && el.innerText.trim()) cut.push(el.innerText.trim().slice(0, 80));
  }
  return cut;
}"""


def test_every_page_at_800_px_in_dark_mode_shows_every_label_whole(tmp_path):
    shots = Path(os.environ.get("PLAYGROUND_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    found = {}
    with serve(tmp_path / "home") as (url, _), chromium(width=800, height=1400) as page:
        page.emulate_media(color_scheme="dark")
        for path, ready in PAGES.items():
            page.goto(f"{url}/{path}")
            page.get_by_text(ready).first.wait_for(timeout=180_000)
            page.wait_for_function("!document.querySelector('[data-testid=stStatusWidget]')", timeout=180_000)
            # Widgets are drawn lazily: a grey placeholder stands in until each one has loaded (and has a width)
            page.wait_for_function("!document.querySelector('[data-testid=stSkeleton]')", timeout=60_000)
            page.wait_for_timeout(500)  # the last widgets settle their width
            page.screenshot(path=str(shots / f"{path or 'home'}-800-dark.png"), full_page=True)
            found[path or "home"] = page.evaluate(CUT)
    assert not {name: cut for name, cut in found.items() if cut}, found


# A data grid (st.dataframe, st.data_editor) draws on a canvas, so its cells are not in the page's layout: the
# grid's own columns (their widths) and cells are read from its props, each text measured in the grid's font.
# A static table (st.table) and a choice box are measured as laid out.
TABLES = """(previews) => {
  const cut = [], seen = {grids: 0, tables: 0};
  const shown = (el) =>
    el.getBoundingClientRect().width > 0 && !el.closest('[data-testid=stSidebar][aria-expanded=false]');
  for (const box of document.querySelectorAll('input[role=combobox]')) {
    if (shown(box) && box.value && box.scrollWidth > box.clientWidth + 1)
      cut.push(`choice '${box.value.slice(0, 60)}' cut`);
  }
  for (const table of document.querySelectorAll('[data-testid=stTable]')) {
    if (!shown(table)) continue;
    seen.tables++;
    const right = table.getBoundingClientRect().right;
    const cells = [...table.querySelectorAll('table, th, td')];
    const widest = Math.max(...cells.map((el) => el.getBoundingClientRect().right));
    if (widest > right + 1 || table.scrollWidth > table.clientWidth + 1)
      cut.push(`table '${table.innerText.slice(0, 40)}' runs ${Math.round(widest - right)} px past its right edge`);
  }
  const ctx = document.createElement('canvas').getContext('2d');
  for (const grid of document.querySelectorAll('[data-testid=stDataFrame]')) {
    if (!shown(grid)) continue;
    seen.grids++;
    const canvas = grid.querySelector('canvas[data-testid=data-grid-canvas]');
    const scroller = grid.querySelector('.dvn-scroller');
    const name = [...grid.querySelectorAll('th')].slice(0, 3).map((th) => th.innerText).join('|');
    if (!canvas || !scroller) { cut.push(`grid '${name}' not drawn`); continue; }
    if (scroller.scrollWidth > scroller.clientWidth + 1)
      cut.push(`grid '${name}' runs ${scroller.scrollWidth - scroller.clientWidth} px past its right edge`);
    let fiber = canvas[Object.keys(canvas).find((k) => k.startsWith('__reactFiber$'))];
    const isGrid = (props) => props && props.getCellContent && props.theme;
    while (fiber && !isGrid(fiber.memoizedProps)) fiber = fiber.return;
    if (!fiber) { cut.push(`grid '${name}': its columns could not be read`); continue; }
    const { columns, rows, getCellContent, theme } = fiber.memoizedProps;
    const padding = 2 * theme.cellHorizontalPadding;
    columns.forEach((column, c) => {
      if ((previews[name] || []).includes(column.title)) return;  // a long text's preview, shown whole elsewhere
      ctx.font = `${theme.headerFontStyle} ${theme.headerFontFamily || theme.fontFamily}`;
      let widest = ctx.measureText(column.title || '').width, what = column.title;
      ctx.font = `${theme.baseFontStyle} ${theme.fontFamily}`;
      for (let r = 0; r < Math.min(rows, 200); r++) {
        const cell = getCellContent([c, r]);
        const text = String(cell.displayData ?? cell.data ?? '');
        const width = ctx.measureText(text).width;
        if (width > widest) { widest = width; what = text; }
      }
      if (widest + padding > column.width + 1)
        cut.push(`grid '${name}': column '${column.title}' is ${Math.round(column.width)} px, `
          + `'${what.slice(0, 40)}' needs ${Math.round(widest + padding)}`);
    });
  }
  return {cut, seen};
}"""
# The grids whose long text is a preview by design: a chunk picked in the table is shown whole below it; a
# training example's cell opens whole in the editor when clicked. Every other column shows its cells whole.
PREVIEWS = {"file|page|chars": ["text"], "recipe|question|answer": ["question", "answer"]}


def test_tables_and_choices_show_whole_at_1280_and_800_px(tmp_path, embedded, smollm, sample_index):
    from playground import GenerationParams
    from playground.evaluate import EvalConfig, evaluate
    from playground.evaluate.questions import workspace_questions
    from playground.models import Catalogue
    from playground.workspace import SAMPLE, open_workspace

    # A stored run of the sample's own questions (what the Evaluate form shows, so the page opens it): two
    # questions through the four conditions, short answers; the tables are what is measured, not the answers.
    ws = open_workspace(SAMPLE)  # the server's home: the autouse fixture and serve() below share tmp_path/"home"
    config = EvalConfig(limit=2, generation=GenerationParams(max_tokens=8))
    questions = workspace_questions(ws.dir, name=ws.name)
    evaluate(
        questions, catalogue=Catalogue([embedded]), base=smollm, index=sample_index, config=config, workspace=ws.name
    )

    shots = Path(os.environ.get("PLAYGROUND_SCREENSHOTS") or tmp_path / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    found, seen = {}, {}
    with serve(tmp_path / "home") as (url, _), chromium(width=800, height=1400) as page:
        page.emulate_media(color_scheme="dark")

        def settled() -> None:
            page.wait_for_function("!document.querySelector('[data-testid=stStatusWidget]')", timeout=300_000)
            page.wait_for_function("!document.querySelector('[data-testid=stSkeleton]')", timeout=60_000)
            page.wait_for_timeout(500)

        def measure(name: str) -> None:
            for width in (800, 1280):
                page.set_viewport_size({"width": width, "height": 1400})
                page.wait_for_timeout(1500)  # the grids size their columns again
                page.screenshot(path=str(shots / f"tables-{name}-{width}.png"), full_page=True)
                shown = page.locator("[data-testid=stTable], [data-testid=stDataFrame]").all()
                for i, table in enumerate(t for t in shown if t.is_visible()):  # each one, scrolled into view
                    table.screenshot(path=str(shots / f"tables-{name}-{width}-{i}.png"))
                result = page.evaluate(TABLES, PREVIEWS)
                found[f"{name} at {width} px"], seen[name] = result["cut"], result["seen"]
            page.set_viewport_size({"width": 800, "height": 1400})

        def open_page(path: str, ready: str) -> None:
            page.goto(f"{url}/{path}")
            page.get_by_text(ready).first.wait_for(timeout=180_000)
            settled()

        open_page("documents", "document(s)")  # the documents and their chunks
        measure("documents")
        open_page("models", "Catalogue")
        measure("models")
        open_page("evaluate", "Results")  # opens on the stored run: results, behaviour, known before
        page.get_by_text("Preview the questions").click()
        settled()
        measure("evaluate")
        open_page("finetune", "Build dataset")
        page.get_by_role("button", name="Build dataset").click()
        page.get_by_text("Dataset report: examples per recipe").click(timeout=180_000)  # its ten examples
        settled()
        measure("finetune")

        # Compare: the example question, then a fact changed: before and after, the changes, the session's questions
        open_page("compare", "Ask")
        page.get_by_role("button", name="Ask", exact=True).click()
        page.get_by_text("This session's questions (1)").wait_for(timeout=300_000)
        settled()
        page.get_by_text("Change a fact in the documents").click()
        page.get_by_role("textbox", name="New text").fill("4 May 2019")
        page.get_by_role("button", name="Change it and ask again").click()
        page.get_by_text("Before and after the change").wait_for(timeout=300_000)
        page.get_by_text("This session's questions (2)").click(timeout=300_000)
        settled()
        measure("compare")
    counts = {name: (n["grids"], n["tables"]) for name, n in seen.items()}
    # what was measured: (grids, tables) on each page, so a page that drew none of them fails here
    assert counts == {
        "documents": (2, 0),
        "models": (0, 1),
        "evaluate": (0, 4),
        "finetune": (1, 1),
        "compare": (1, 2),
    }, counts
    assert not {name: cut for name, cut in found.items() if cut}, found
