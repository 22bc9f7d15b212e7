/**
 * One agent change in the review: the tool, when, its one-line summary, the diff
 * of each cell it touched, and its actions (Revert, Revert all of this session
 * since here, Keep; Undo revert for a reverted one). A refused revert shows the
 * server's message here, with the cells in conflict marked in the diff.
 */
import { CodeEditor } from '@jupyterlab/codeeditor';
import { TranslationBundle } from '@jupyterlab/translation';
import { Panel, Widget } from '@lumino/widgets';

import { ChangeConflictError, errorMessage, IChange } from './api';
import { CellDiffView } from './celldiff';
import { button, element, setText } from './dom';
import { ChangesModel } from './model';
import { cellDiffs, clientLabel, conflictCellNames, timeAgo } from './review';

/**
 * What a card's buttons do; the review panel provides them. Each resolves once
 * done and throws the server's refusal, which the card then shows.
 */
export interface IChangeActions {
  revert(change: IChange): Promise<void>;
  revertSince(change: IChange): Promise<void>;
  keep(change: IChange): Promise<void>;
  undoRevert(change: IChange): Promise<void>;
}

/**
 * How a card is shown: to review (in its session's group), or in the history.
 */
export interface ICardState {
  /**
   * How many changes "revert all of this session since here" would revert.
   */
  sinceCount: number;
  /**
   * In the history (kept or reverted): greyed, collapsed, with the client named.
   */
  history: boolean;
}

/**
 * One change, its diff and its actions.
 */
export class ChangeCard extends Panel {
  constructor(options: ChangeCard.IOptions) {
    super();
    this._options = options;
    this._change = options.change;
    const trans = options.trans;
    this.addClass('jp-mcp-ext-ChangeCard');
    this.node.dataset.changeId = options.change.id;
    this.node.setAttribute('role', 'group');

    const head = new Widget();
    head.addClass('jp-mcp-ext-ChangeCard-head');
    const line = element('div', 'jp-mcp-ext-ChangeCard-line');
    this._tool = element('code', 'jp-mcp-ext-ChangeCard-tool');
    this._client = element('span', 'jp-mcp-ext-ChangeCard-client');
    this._time = element('span', 'jp-mcp-ext-ChangeCard-time');
    this._status = element('span', 'jp-mcp-ext-ChangeCard-status');
    line.append(this._tool, this._client, this._time, this._status);
    this._toggle = button('jp-mod-toggle jp-mod-minimal', '');
    line.appendChild(this._toggle);
    this._summary = element('div', 'jp-mcp-ext-ChangeCard-summary');
    this._summary.id = `jp-mcp-ext-change-${options.change.id}-summary`;
    this.node.setAttribute('aria-describedby', this._summary.id);
    this._error = element('div', 'jp-mcp-ext-ChangeCard-error');
    this._error.setAttribute('role', 'alert');
    this._error.hidden = true;
    head.node.append(line, this._summary, this._error);
    this.addWidget(head);

    this._diffs = new Panel();
    this._diffs.addClass('jp-mcp-ext-ChangeCard-diffs');
    this._diffs.id = `jp-mcp-ext-change-${options.change.id}-diff`;
    this.addWidget(this._diffs);

    const foot = new Widget();
    foot.addClass('jp-mcp-ext-ChangeCard-actions');
    foot.node.setAttribute('role', 'toolbar');
    foot.node.setAttribute('aria-label', trans.__('Actions of this change'));
    this._buttons = {
      revert: button('jp-mod-revert jp-mod-warn', trans.__('Revert'), trans.__('Revert this change')),
      since: button('jp-mod-since', ''),
      keep: button('jp-mod-keep jp-mod-accept', trans.__('Keep'), trans.__('Keep this change (it leaves the review)')),
      undo: button('jp-mod-undo', trans.__('Undo revert'), trans.__('Undo revert: bring this change back'))
    };
    this._toggle.setAttribute('aria-controls', this._diffs.id);
    const run = (action: (change: IChange) => Promise<void>) => () => void this._run(action);
    this._buttons.revert.addEventListener('click', run(c => options.actions.revert(c)));
    this._buttons.since.addEventListener('click', run(c => options.actions.revertSince(c)));
    this._buttons.keep.addEventListener('click', run(c => options.actions.keep(c)));
    this._buttons.undo.addEventListener('click', run(c => options.actions.undoRevert(c)));
    this._toggle.addEventListener('click', () => this.setExpanded(!this._expanded));
    foot.node.append(this._buttons.revert, this._buttons.since, this._buttons.keep, this._buttons.undo);
    this.addWidget(foot);
  }

  get change(): IChange {
    return this._change;
  }

  /**
   * The first enabled action button (where focus goes when a card leaves).
   */
  get firstButton(): HTMLButtonElement | null {
    return Object.values(this._buttons).find(b => !b.hidden && !b.disabled) ?? null;
  }

  /**
   * Show `change` (a newer record of the same change) in `state`.
   */
  setChange(change: IChange, state: ICardState): void {
    const trans = this._options.trans;
    const wasHistory = this._state?.history;
    this._change = change;
    this._state = state;
    const node = this.node;
    node.classList.toggle('jp-mod-history', state.history);
    node.classList.toggle('jp-mod-reverted', change.reverted);
    node.classList.toggle('jp-mod-kept', change.kept && !change.reverted);
    node.setAttribute('aria-label', trans.__('%1 by %2', change.tool, clientLabel(change.client)));

    setText(this._tool, change.tool);
    setText(this._client, state.history ? clientLabel(change.client) : '');
    this._client.hidden = !state.history;
    this.tick();
    const full = new Date(change.time);
    this._time.title = isNaN(full.getTime()) ? change.time : full.toLocaleString();
    setText(
      this._status,
      change.reverted ? trans.__('Reverted') : change.kept ? trans.__('Kept') : ''
    );
    this._status.hidden = !change.reverted && !change.kept;
    setText(this._summary, change.summary);

    const b = this._buttons;
    b.revert.hidden = change.reverted;
    b.keep.hidden = state.history;
    b.undo.hidden = !change.reverted || !change.reverted_by;
    b.since.hidden = state.history || state.sinceCount < 2;
    setText(b.since, trans.__('Revert all since here (%1)', state.sinceCount));
    const sinceText = trans.__(
      'Revert all of this session since here: this change and the %1 after it',
      state.sinceCount - 1
    );
    b.since.title = sinceText;
    b.since.setAttribute('aria-label', trans.__('Revert all since here (%1): %2', state.sinceCount, sinceText));

    if (wasHistory === undefined || wasHistory !== state.history) {
      // To review: the diff shows; in the history it waits for "Show diff".
      this.setExpanded(!state.history);
    } else if (this._expanded) {
      this._loadDiff();
    }
  }

  /**
   * Move "n min ago" on.
   */
  tick(now: number = Date.now()): void {
    setText(this._time, timeAgo(this._change.time, now));
  }

  /**
   * Show or hide the diff (loaded on first show).
   */
  setExpanded(expanded: boolean): void {
    const trans = this._options.trans;
    this._expanded = expanded;
    this._diffs.setHidden(!expanded);
    this._toggle.setAttribute('aria-expanded', String(expanded));
    setText(this._toggle, expanded ? trans.__('Hide diff') : trans.__('Show diff'));
    if (expanded) {
      this._loadDiff();
    }
  }

  /**
   * Show why an action failed; a conflict marks its cells in the diff.
   */
  showError(message: string, cells: string[] = []): void {
    const trans = this._options.trans;
    this._error.replaceChildren();
    this._error.hidden = !message;
    this._conflicts = new Set(cells);
    if (message) {
      this._error.appendChild(element('div', 'jp-mcp-ext-ChangeCard-errorMessage', message));
      if (cells.length) {
        const names = conflictCellNames(cells, id => this._options.cellIndex(id));
        this._error.appendChild(
          element(
            'div',
            'jp-mcp-ext-ChangeCard-errorCells',
            trans.__('In conflict (changed since): %1', names.join(', '))
          )
        );
      }
    }
    if (cells.length && !this._expanded) {
      this.setExpanded(true);
    }
    this._markConflicts();
  }

  dispose(): void {
    this._disposeDiffs();
    super.dispose();
  }

  private async _run(action: (change: IChange) => Promise<void>): Promise<void> {
    if (this._busy) {
      return;
    }
    this._setBusy(true);
    this.showError('');
    try {
      await action(this._change);
    } catch (error) {
      if (error instanceof ChangeConflictError) {
        this.showError(error.message, error.cells);
      } else {
        this.showError(errorMessage(error));
      }
    } finally {
      this._setBusy(false);
    }
  }

  private _setBusy(busy: boolean): void {
    this._busy = busy;
    this.node.classList.toggle('jp-mod-busy', busy);
    this.node.setAttribute('aria-busy', String(busy));
    for (const b of Object.values(this._buttons)) {
      b.disabled = busy;
    }
  }

  private _loadDiff(): void {
    const { model, trans } = this._options;
    const id = this._change.id;
    const revision = model.revision(id);
    if (this._diffRevision === revision) {
      return;
    }
    this._diffRevision = revision;
    if (!this._diffs.widgets.length) {
      this._diffs.addWidget(note(trans.__('Loading the diff…')));
    }
    model.detail(id).then(
      detail => {
        if (this.isDisposed || this._diffRevision !== revision) {
          return;
        }
        this._disposeDiffs();
        const diffs = cellDiffs(detail);
        for (const diff of diffs) {
          this._diffs.addWidget(
            new CellDiffView({
              diff,
              editorFactory: this._options.editorFactory,
              codeMimeType: this._options.codeMimeType(),
              trans
            })
          );
        }
        if (detail.metadata_after && JSON.stringify(detail.metadata_before) !== JSON.stringify(detail.metadata_after)) {
          this._diffs.addWidget(note(trans.__('The notebook’s metadata changed.')));
        }
        if (!this._diffs.widgets.length) {
          this._diffs.addWidget(note(trans.__('No cell is left changed by this call.')));
        }
        this._markConflicts();
      },
      error => {
        if (this.isDisposed || this._diffRevision !== revision) {
          return;
        }
        this._diffRevision = -1;
        this._disposeDiffs();
        this._diffs.addWidget(note(trans.__('Could not load the diff: %1', errorMessage(error)), true));
      }
    );
  }

  private _markConflicts(): void {
    for (const widget of this._diffs.widgets) {
      if (widget instanceof CellDiffView) {
        widget.setConflict(this._conflicts.has(widget.diff.key));
      }
    }
  }

  private _disposeDiffs(): void {
    for (const widget of [...this._diffs.widgets]) {
      widget.dispose();
    }
  }

  private _options: ChangeCard.IOptions;
  private _change: IChange;
  private _state: ICardState | null = null;
  private _tool: HTMLElement;
  private _client: HTMLElement;
  private _time: HTMLElement;
  private _status: HTMLElement;
  private _summary: HTMLElement;
  private _error: HTMLElement;
  private _diffs: Panel;
  private _buttons: {
    revert: HTMLButtonElement;
    since: HTMLButtonElement;
    keep: HTMLButtonElement;
    undo: HTMLButtonElement;
  };
  private _toggle: HTMLButtonElement;
  private _expanded = false;
  private _busy = false;
  private _diffRevision = -1;
  private _conflicts = new Set<string>();
}

/**
 * A namespace for ChangeCard statics.
 */
export namespace ChangeCard {
  export interface IOptions {
    change: IChange;
    model: ChangesModel;
    actions: IChangeActions;
    editorFactory: CodeEditor.Factory;
    /**
     * The mime type of the notebook's code cells, when the diff is made.
     */
    codeMimeType: () => string;
    /**
     * The index of a cell (by id) in the open notebook, or -1.
     */
    cellIndex: (id: string) => number;
    trans: TranslationBundle;
  }
}

function note(text: string, error = false): Widget {
  const widget = new Widget();
  widget.addClass('jp-mcp-ext-ChangeCard-note');
  if (error) {
    widget.addClass('jp-mod-error');
  }
  widget.node.textContent = text;
  return widget;
}
