/**
 * The "N agent changes" item of a notebook's toolbar: the number of agent
 * changes still to review (hidden at 0); clicking it opens the review.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { setText } from './dom';
import { agentChangesIcon } from './icons';

/**
 * A toolbar button styled as JupyterLab's own, with a count in its label.
 */
export class AgentChangesItem extends Widget {
  constructor(options: AgentChangesItem.IOptions) {
    super();
    this._trans = options.trans;
    this.addClass('jp-mcp-ext-AgentChangesItem');
    this.addClass('jp-ToolbarButton');
    const node = (this._button = document.createElement('button'));
    node.type = 'button';
    node.className = 'jp-ToolbarButtonComponent jp-Button jp-mod-minimal jp-mcp-ext-AgentChangesItem-button';
    node.appendChild(
      agentChangesIcon.element({ tag: 'span', className: 'jp-ToolbarButtonComponent-icon' })
    );
    this._label = document.createElement('span');
    this._label.className = 'jp-ToolbarButtonComponent-label';
    node.appendChild(this._label);
    node.addEventListener('click', () => options.onClick());
    // The toolbar hands focus back to the notebook otherwise.
    node.addEventListener('mousedown', event => event.preventDefault());
    this.node.appendChild(node);
    this.setCount(0);
  }

  /**
   * The number of changes to review.
   */
  get count(): number {
    return this._count;
  }

  setCount(count: number): void {
    const trans = this._trans;
    this._count = count;
    setText(this._label, trans._n('%1 agent change', '%1 agent changes', count));
    const tip = trans._n(
      '%1 change by MCP clients to review: show them, with their diffs, to revert or keep',
      '%1 changes by MCP clients to review: show them, with their diffs, to revert or keep',
      count
    );
    this._button.title = tip;
    this.setHidden(count === 0);
  }

  private _trans: TranslationBundle;
  private _button: HTMLButtonElement;
  private _label: HTMLSpanElement;
  private _count = 0;
}

/**
 * A namespace for AgentChangesItem statics.
 */
export namespace AgentChangesItem {
  export interface IOptions {
    trans: TranslationBundle;
    onClick: () => void;
  }
}
