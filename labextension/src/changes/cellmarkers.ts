/**
 * The quiet marker of cells an agent changed in an open notebook: a stripe in the
 * cell's left gutter and a tooltip "changed by <client>, <n> min ago", until the
 * change is kept or reverted. Cells are matched by their model id (the nbformat
 * cell id).
 */
import { Cell } from '@jupyterlab/cells';
import { Notebook } from '@jupyterlab/notebook';
import { TranslationBundle } from '@jupyterlab/translation';
import { IDisposable } from '@lumino/disposable';

import { IChange } from './api';
import { clientLabel, latestChangeByCell, timeAgo } from './review';

/**
 * The class of a marked cell.
 */
export const CHANGED_CELL_CLASS = 'jp-mcp-ext-mod-agentChanged';

/**
 * The markers of one notebook's cells.
 */
export class CellMarkers implements IDisposable {
  constructor(notebook: Notebook, trans: TranslationBundle) {
    this._notebook = notebook;
    this._trans = trans;
    notebook.model?.cells.changed.connect(this._apply, this);
    notebook.modelChanged.connect(this._onModelChanged, this);
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * Mark the cells of the pending changes among `changes`.
   */
  update(changes: ReadonlyArray<IChange>): void {
    this._byCell = latestChangeByCell(changes);
    this._apply();
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._notebook.model?.cells.changed.disconnect(this._apply, this);
    this._notebook.modelChanged.disconnect(this._onModelChanged, this);
    this._byCell = new Map();
    if (!this._notebook.isDisposed) {
      this._apply();
    }
  }

  private _onModelChanged(): void {
    this._notebook.model?.cells.changed.connect(this._apply, this);
    this._apply();
  }

  private _apply(): void {
    const marked = new Set<Cell>();
    for (const cell of this._notebook.widgets) {
      const change = this._byCell.get(cell.model.id);
      if (change) {
        marked.add(cell);
        this._mark(cell, change);
      }
    }
    for (const cell of this._markers.keys()) {
      if (!marked.has(cell)) {
        this._unmark(cell);
      }
    }
  }

  private _mark(cell: Cell, change: IChange): void {
    let marker = this._markers.get(cell);
    if (!marker) {
      marker = document.createElement('div');
      marker.className = 'jp-mcp-ext-CellMarker';
      marker.addEventListener('pointerenter', () => this._title(cell));
      cell.node.appendChild(marker);
      cell.addClass(CHANGED_CELL_CLASS);
      cell.inputArea?.promptNode.addEventListener('pointerenter', this._onPromptEnter);
      this._markers.set(cell, marker);
    }
    cell.node.dataset.agentChange = change.id;
    this._title(cell);
  }

  private _unmark(cell: Cell): void {
    this._markers.get(cell)?.remove();
    this._markers.delete(cell);
    if (cell.isDisposed) {
      return;
    }
    cell.removeClass(CHANGED_CELL_CLASS);
    delete cell.node.dataset.agentChange;
    const prompt = cell.inputArea?.promptNode;
    if (prompt) {
      prompt.removeEventListener('pointerenter', this._onPromptEnter);
      prompt.removeAttribute('title');
    }
  }

  /**
   * The tooltip, written when it is about to show, so that "n min ago" is right.
   */
  private _title(cell: Cell): void {
    const marker = this._markers.get(cell);
    const change = this._byCell.get(cell.model.id);
    if (!marker || !change) {
      return;
    }
    const text = this._trans.__(
      'changed by %1, %2 (%3) — not reviewed yet',
      clientLabel(change.client),
      timeAgo(change.time),
      change.tool
    );
    marker.title = text;
    const prompt = cell.inputArea?.promptNode;
    if (prompt) {
      prompt.title = text;
    }
  }

  private _onPromptEnter = (event: PointerEvent): void => {
    for (const cell of this._markers.keys()) {
      if (cell.inputArea?.promptNode === event.currentTarget) {
        this._title(cell);
      }
    }
  };

  private _notebook: Notebook;
  private _trans: TranslationBundle;
  private _byCell = new Map<string, IChange>();
  private _markers = new Map<Cell, HTMLDivElement>();
  private _isDisposed = false;
}
