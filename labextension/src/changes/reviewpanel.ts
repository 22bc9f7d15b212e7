/**
 * The review of one notebook's agent changes: the changes still to review,
 * grouped by client and session, newest first, each with its diff and actions;
 * below, the reverted and kept ones, collapsed.
 */
import { CodeEditor } from '@jupyterlab/codeeditor';
import { TranslationBundle } from '@jupyterlab/translation';
import { IDisposable } from '@lumino/disposable';
import { Message } from '@lumino/messaging';
import { Panel, Widget } from '@lumino/widgets';

import { baseName } from '../jobs/format';

import { IChange } from './api';
import { ChangeCard, IChangeActions } from './changecard';
import { button, element, setText } from './dom';
import { ChangesModel } from './model';
import { clientLabel, groupBySession, isPending, isRevertRecord, newestFirst, sinceHere } from './review';

/**
 * What the review needs of the notebook it is about.
 */
export interface IReviewedNotebook {
  /**
   * The notebook's API path.
   */
  path: string;
  /**
   * The mime type of its code cells.
   */
  codeMimeType(): string;
  /**
   * The index of a cell (by id) in the open notebook, or -1 (not open, or no such cell).
   */
  cellIndex(id: string): number;
  /**
   * Show the notebook's cells as they are after a revert; resolves with a
   * sentence for the person when it could not (unsaved changes), else ''.
   */
  afterRevert(): Promise<string>;
}

/**
 * The review panel of one notebook (the content of a main-area widget).
 */
export class ChangesReview extends Panel {
  constructor(options: ChangesReview.IOptions) {
    super();
    this.model = options.model;
    this._notebook = options.notebook;
    this._editorFactory = options.editorFactory;
    this._trans = options.trans;
    const trans = this._trans;
    this.addClass('jp-mcp-ext-ChangesReview');

    const head = new Widget();
    head.addClass('jp-mcp-ext-ChangesReview-head');
    this._heading = element('h2', 'jp-mcp-ext-ChangesReview-title');
    this._heading.tabIndex = -1;
    this._counts = element('p', 'jp-mcp-ext-ChangesReview-counts');
    this._notice = element('div', 'jp-mcp-ext-ChangesReview-notice');
    this._notice.setAttribute('role', 'status');
    this._notice.hidden = true;
    head.node.append(this._heading, this._counts, this._notice);
    this.addWidget(head);

    this._message = new Widget();
    this._message.addClass('jp-mcp-ext-ChangesReview-message');
    this.addWidget(this._message);

    this._groups = new Panel();
    this._groups.addClass('jp-mcp-ext-ChangesReview-groups');
    this.addWidget(this._groups);

    this._history = new HistorySection(trans);
    this.addWidget(this._history);

    this._actions = {
      revert: change => this._revert(change, [change.id]),
      revertSince: change =>
        this._revert(change, sinceHere(this.model.changes(this._notebook.path) ?? [], change.id)),
      keep: async change => {
        await this.model.keep(this._notebook.path, change.id);
        this._say(trans.__('Kept: %1.', change.summary || change.tool));
      },
      undoRevert: async change => {
        if (!change.reverted_by) {
          return;
        }
        await this._revert(change, [change.reverted_by], true);
      }
    };
    this.model.changed.connect(this._onModelChanged, this);
    this._watch = this.model.watch(this._notebook.path);
    this.render();
  }

  readonly model: ChangesModel;

  /**
   * The notebook's API path.
   */
  get path(): string {
    return this._notebook.path;
  }

  /**
   * Follow the notebook to its new path (it was renamed).
   */
  setNotebook(notebook: IReviewedNotebook): void {
    if (notebook.path !== this._notebook.path) {
      this._watch.dispose();
      this._notebook = notebook;
      this._watch = this.model.watch(notebook.path);
    } else {
      this._notebook = notebook;
    }
    this.render();
  }

  /**
   * Load the changes again.
   */
  refresh(): Promise<void> {
    return this.model.refresh(this._notebook.path);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    window.clearInterval(this._tick);
    this._watch.dispose();
    this.model.changed.disconnect(this._onModelChanged, this);
    super.dispose();
  }

  /**
   * Show the model's changes of the notebook.
   */
  render(): void {
    const trans = this._trans;
    const path = this._notebook.path;
    const all = this.model.changes(path);
    setText(this._heading, trans.__('Agent changes in %1', baseName(path)));
    this._heading.title = path;
    const visible = newestFirst((all ?? []).filter(change => !isRevertRecord(change)));
    const pending = visible.filter(isPending);
    const done = visible.filter(change => !isPending(change));
    setText(
      this._counts,
      all === undefined
        ? ''
        : pending.length
          ? trans._n('%1 change to review', '%1 changes to review', pending.length)
          : trans.__('Nothing to review')
    );

    // Cards stay per change, so that focus and loaded diffs survive updates.
    const keep = new Set(visible.map(change => change.id));
    for (const [id, card] of this._cards) {
      if (!keep.has(id)) {
        card.dispose();
        this._cards.delete(id);
      }
    }
    const groups = groupBySession(pending);
    groups.forEach((group, at) => {
      let section = this._sections.get(group.key);
      if (!section) {
        section = new SessionSection(group.client, group.session, trans);
        this._sections.set(group.key, section);
      }
      if (this._groups.widgets[at] !== section) {
        this._groups.insertWidget(at, section);
      }
      section.setCount(group.changes.length);
      group.changes.forEach((change, index) => {
        const card = this._card(change);
        card.setChange(change, { sinceCount: sinceHere(all ?? [], change.id).length, history: false });
        section.place(card, index);
      });
    });
    done.forEach((change, index) => {
      const card = this._card(change);
      card.setChange(change, { sinceCount: 0, history: true });
      this._history.place(card, index);
    });
    this._history.setCount(done.length);
    // Only now that their cards have moved on: a section disposes the cards it still holds.
    const groupKeys = new Set(groups.map(group => group.key));
    for (const [key, section] of this._sections) {
      if (!groupKeys.has(key)) {
        section.dispose();
        this._sections.delete(key);
      }
    }
    this._renderMessage(all, pending.length, done.length);
    this._updateTicking();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    // Shown again (a tab brought back): catch up, whatever the event stream missed.
    if (this.model.changes(this._notebook.path) !== undefined) {
      void this.refresh();
    }
    this._updateTicking();
  }

  protected onAfterHide(msg: Message): void {
    super.onAfterHide(msg);
    this._updateTicking();
  }

  protected onActivateRequest(msg: Message): void {
    super.onActivateRequest(msg);
    const first = this._groups.node.querySelector<HTMLButtonElement>(
      '.jp-mcp-ext-ChangeCard-actions button:not([hidden]):not(:disabled)'
    );
    (first ?? this._heading).focus();
  }

  private _card(change: IChange): ChangeCard {
    let card = this._cards.get(change.id);
    if (!card) {
      card = new ChangeCard({
        change,
        model: this.model,
        actions: this._actions,
        editorFactory: this._editorFactory,
        codeMimeType: () => this._notebook.codeMimeType(),
        cellIndex: id => this._notebook.cellIndex(id),
        trans: this._trans
      });
      this._cards.set(change.id, card);
    }
    return card;
  }

  private async _revert(change: IChange, ids: string[], undo = false): Promise<void> {
    const trans = this._trans;
    if (!ids.length) {
      return;
    }
    const card = this._cards.get(change.id);
    const hadFocus = !!card && card.node.contains(document.activeElement);
    await this.model.revert(this._notebook.path, ids);
    const problem = await this._notebook.afterRevert();
    const what = undo
      ? trans.__('Brought back: %1.', change.summary || change.tool)
      : ids.length > 1
        ? trans.__('Reverted %1 changes.', ids.length)
        : trans.__('Reverted: %1.', change.summary || change.tool);
    this._say(problem ? `${what} ${problem}` : what);
    if (hadFocus) {
      this._refocus(change.id);
    }
  }

  /**
   * The card that had focus left the list: focus the next change to review, else the heading.
   */
  private _refocus(id: string): void {
    const done = (): void => {
      const active = document.activeElement;
      if (active && active !== document.body && !this.node.contains(active)) {
        return; // the person has moved on meanwhile: never take the focus back
      }
      const moved = this._cards.get(id);
      if (moved && moved.node.contains(active) && !moved.node.classList.contains('jp-mod-history')) {
        return;
      }
      const cards: ChangeCard[] = [];
      this._sections.forEach(section => cards.push(...section.cards));
      const next = cards.find(card => card.firstButton);
      (next?.firstButton ?? this._heading).focus();
    };
    // After the list reloaded (the revert's refresh), so the card is where it belongs.
    const once = (): void => {
      this.model.changed.disconnect(once);
      window.requestAnimationFrame(done);
    };
    this.model.changed.connect(once);
  }

  private _say(text: string): void {
    setText(this._notice, text);
    this._notice.hidden = !text;
  }

  private _renderMessage(all: IChange[] | undefined, pending: number, done: number): void {
    const trans = this._trans;
    const node = this._message.node;
    node.replaceChildren();
    const error = this.model.error(this._notebook.path);
    node.classList.toggle('jp-mod-error', !!error);
    if (error) {
      node.appendChild(element('p', '', trans.__('Could not load the changes: %1', error)));
    }
    if (all === undefined) {
      node.appendChild(element('p', '', trans.__('Loading the changes…')));
    } else if (!pending && !error) {
      node.appendChild(element('p', 'jp-mcp-ext-ChangesReview-emptyTitle', trans.__('No agent changes to review')));
      node.appendChild(
        element(
          'p',
          '',
          done
            ? trans.__('Every change MCP clients made to this notebook was kept or reverted.')
            : trans.__(
                'When an MCP client edits this notebook (add_cell, update_cell, write_notebook, …), each change shows here with its diff, to revert or keep.'
              )
        )
      );
    }
    this._message.setHidden(!node.childNodes.length);
  }

  private _onModelChanged(_: ChangesModel, path: string): void {
    if (path === this._notebook.path) {
      this.render();
    }
  }

  /**
   * "n min ago" moves on once a minute, only while the review is visible.
   */
  private _updateTicking(): void {
    const ticking = this.isVisible && this._cards.size > 0;
    if (ticking && !this._tick) {
      this._tick = window.setInterval(() => {
        const now = Date.now();
        this._cards.forEach(card => card.tick(now));
      }, 30_000);
    } else if (!ticking && this._tick) {
      window.clearInterval(this._tick);
      this._tick = 0;
    }
  }

  private _notebook: IReviewedNotebook;
  private _editorFactory: CodeEditor.Factory;
  private _trans: TranslationBundle;
  private _heading: HTMLHeadingElement;
  private _counts: HTMLParagraphElement;
  private _notice: HTMLDivElement;
  private _message: Widget;
  private _groups: Panel;
  private _history: HistorySection;
  private _sections = new Map<string, SessionSection>();
  private _cards = new Map<string, ChangeCard>();
  private _actions: IChangeActions;
  private _watch: IDisposable;
  private _tick = 0;
}

/**
 * A namespace for ChangesReview statics.
 */
export namespace ChangesReview {
  export interface IOptions {
    model: ChangesModel;
    notebook: IReviewedNotebook;
    editorFactory: CodeEditor.Factory;
    trans: TranslationBundle;
  }
}

/**
 * The changes of one session of one client.
 */
class SessionSection extends Panel {
  constructor(client: string | null, session: string | null, trans: TranslationBundle) {
    super();
    this._trans = trans;
    this.addClass('jp-mcp-ext-SessionGroup');
    const head = new Widget({ node: element('h3', 'jp-mcp-ext-SessionGroup-head') });
    const name = element('span', 'jp-mcp-ext-SessionGroup-client', clientLabel(client));
    head.node.appendChild(name);
    if (session) {
      const tag = element('span', 'jp-mcp-ext-SessionGroup-session', trans.__('session %1', session));
      tag.title = trans.__('The MCP session %1 of %2', session, clientLabel(client));
      head.node.appendChild(tag);
    }
    this._count = element('span', 'jp-mcp-ext-SessionGroup-count');
    head.node.appendChild(this._count);
    this.addWidget(head);
    this.node.setAttribute('role', 'region');
    this.node.setAttribute(
      'aria-label',
      session ? trans.__('Changes by %1, session %2', clientLabel(client), session) : trans.__('Changes by %1', clientLabel(client))
    );
  }

  get cards(): ChangeCard[] {
    return this.widgets.filter((w): w is ChangeCard => w instanceof ChangeCard);
  }

  setCount(count: number): void {
    setText(this._count, this._trans._n('%1 change', '%1 changes', count));
  }

  /**
   * Put `card` at position `index` among the cards.
   */
  place(card: ChangeCard, index: number): void {
    if (this.widgets[index + 1] !== card) {
      this.insertWidget(index + 1, card);
    }
  }

  private _trans: TranslationBundle;
  private _count: HTMLSpanElement;
}

/**
 * The reverted and kept changes, collapsed behind a button.
 */
class HistorySection extends Panel {
  constructor(trans: TranslationBundle) {
    super();
    this._trans = trans;
    this.addClass('jp-mcp-ext-ChangesHistory');
    const head = new Widget({ node: element('h3', 'jp-mcp-ext-ChangesHistory-head') });
    this._toggle = button('jp-mcp-ext-ChangesHistory-toggle jp-mod-minimal', '');
    this._toggle.setAttribute('aria-expanded', 'false');
    this._toggle.addEventListener('click', () => this._setOpen(!this._open));
    head.node.appendChild(this._toggle);
    this.addWidget(head);
    this._list = new Panel();
    this._list.addClass('jp-mcp-ext-ChangesHistory-list');
    this._list.id = `jp-mcp-ext-history-${Math.random().toString(36).slice(2, 8)}`;
    this._toggle.setAttribute('aria-controls', this._list.id);
    this.addWidget(this._list);
    this._setOpen(false);
  }

  setCount(count: number): void {
    this._count = count;
    this.setHidden(!count);
    setText(this._toggle, this._trans.__('Reverted and kept (%1)', count));
  }

  place(card: ChangeCard, index: number): void {
    if (this._list.widgets[index] !== card) {
      this._list.insertWidget(index, card);
    }
  }

  private _setOpen(open: boolean): void {
    this._open = open;
    this._toggle.setAttribute('aria-expanded', String(open));
    this.node.classList.toggle('jp-mod-open', open);
    this._list.setHidden(!open);
    this.setCount(this._count);
  }

  private _trans: TranslationBundle;
  private _toggle: HTMLButtonElement;
  private _list: Panel;
  private _open = false;
  private _count = 0;
}
