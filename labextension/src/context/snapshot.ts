/**
 * What one Lab tab shows the person, read from the notebook tracker: the
 * notebook they focused last, its active cell, the selected cells, the cursor
 * or selected text in the cell being edited, its kernel, and the notebooks open.
 */
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';

import { IFocusState, ISelectedCell } from './api';

/**
 * Most selected cells listed (the server refuses more); a longer selection is
 * counted in `selected_cell_count`.
 */
export const MAX_SELECTED_CELLS = 100;

/**
 * Most open notebooks listed (the server refuses more).
 */
export const MAX_OPEN_NOTEBOOKS = 200;

/**
 * The state of the tab, for `ContextReporter`.
 *
 * The notebook is the tracker's current one: the notebook the person focused
 * last, which stays current while they use the file browser or a console.
 * Paths are the server's (relative to its root, without a drive prefix such as
 * the collaborative drive's "RTC:").
 */
export function focusState(tracker: INotebookTracker): IFocusState {
  const open: string[] = [];
  tracker.forEach(panel => {
    const path = panel.context.localPath;
    if (!open.includes(path) && open.length < MAX_OPEN_NOTEBOOKS) {
      open.push(path);
    }
  });
  const panel = tracker.currentWidget;
  if (!panel || panel.isDisposed) {
    return { path: null, open_notebooks: open };
  }
  return { ...notebookState(panel), open_notebooks: open };
}

function notebookState(panel: NotebookPanel): Omit<IFocusState, 'open_notebooks'> {
  const notebook = panel.content;
  const model = notebook.model;
  // Lab gives every cell an id, but a notebook older than nbformat 4.5 does not
  // save them: such an id would name nothing in the file.
  const withIds = !!model && (model.nbformat > 4 || model.nbformatMinor >= 5);
  const selected: ISelectedCell[] = [];
  let count = 0;
  notebook.widgets.forEach((cell, index) => {
    if (notebook.isSelectedOrActive(cell)) {
      count += 1;
      if (selected.length < MAX_SELECTED_CELLS) {
        selected.push({ index, id: withIds ? cell.model.id : null });
      }
    }
  });
  const active = notebook.activeCell;
  const index = active ? notebook.widgets.indexOf(active) : -1;
  let textSelection: IFocusState['text_selection'] = null;
  if (active && notebook.mode === 'edit' && active.editor) {
    const { start, end } = active.editor.getSelection();
    textSelection = {
      start: { line: start.line, column: start.column },
      end: { line: end.line, column: end.column }
    };
  }
  const state: Omit<IFocusState, 'open_notebooks'> = {
    path: panel.context.localPath,
    cell_index: index >= 0 ? index : null,
    cell_id: active && index >= 0 && withIds ? active.model.id : null,
    cell_type: active && index >= 0 ? cellType(active.model.type) : null,
    selected_cells: selected,
    text_selection: textSelection,
    kernel_id: panel.sessionContext.session?.kernel?.id ?? null,
    unsaved: panel.context.model.dirty
  };
  if (count > selected.length) {
    state.selected_cell_count = count;
  }
  return state;
}

function cellType(type: string): IFocusState['cell_type'] {
  return type === 'code' || type === 'markdown' || type === 'raw' ? type : null;
}
