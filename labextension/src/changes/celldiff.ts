/**
 * One cell of an agent's change in the review: what happened to it (changed,
 * added, removed), its source as a diff (CodeMirror's unified merge view in an
 * editor made by JupyterLab's own editor factory, read-only), and its outputs
 * said in words with a short preview.
 */
import { unifiedMergeView } from '@codemirror/merge';
import { CodeEditor } from '@jupyterlab/codeeditor';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { element } from './dom';
import { ICellDiff, outputKinds, outputPreview, sourceText } from './review';

/**
 * The mime type of a markdown cell's editor in JupyterLab.
 */
const MARKDOWN_MIME_TYPE = 'text/x-ipythongfm';

/**
 * One cell's diff.
 */
export class CellDiffView extends Widget {
  constructor(options: CellDiffView.IOptions) {
    super();
    const { diff, trans } = options;
    this.diff = diff;
    this._trans = trans;
    this.addClass('jp-mcp-ext-CellDiff');
    this.addClass(`jp-mod-${diff.kind}`);
    this.node.dataset.cellKey = diff.key;

    const header = element('div', 'jp-mcp-ext-CellDiff-header');
    const badge = element('span', 'jp-mcp-ext-CellDiff-badge', kindLabel(diff, trans));
    header.appendChild(badge);
    header.appendChild(
      element('span', 'jp-mcp-ext-CellDiff-where', trans.__('cell %1 · %2', diff.index, diff.cellType))
    );
    if (diff.typeChanged && diff.before && diff.after) {
      header.appendChild(
        element(
          'span',
          'jp-mcp-ext-CellDiff-note',
          trans.__('type %1 → %2', diff.before.cell_type, diff.after.cell_type)
        )
      );
    }
    this._conflict = element('span', 'jp-mcp-ext-CellDiff-conflict', trans.__('changed since'));
    this._conflict.hidden = true;
    header.appendChild(this._conflict);
    this.node.appendChild(header);

    const before = sourceText(diff.before);
    const after = sourceText(diff.after);
    if (diff.sourceChanged && (before || after)) {
      const host = element('div', 'jp-mcp-ext-CellDiff-source');
      host.setAttribute(
        'aria-label',
        diff.kind === 'added'
          ? trans.__('Source of the added cell')
          : diff.kind === 'removed'
            ? trans.__('Source of the removed cell')
            : trans.__('Source before and after the change')
      );
      this.node.appendChild(host);
      const model = new CodeEditor.Model({ mimeType: mimeTypeOf(diff.cellType, options.codeMimeType) });
      // An added or removed cell is all new or all gone: its source alone says it (coloured
      // by the kind); an updated one shows the lines removed above the lines that replace them.
      model.sharedModel.setSource(diff.kind === 'removed' ? before : after);
      this._model = model;
      this._editor = options.editorFactory({
        host,
        model,
        extensions:
          diff.kind === 'updated'
            ? [
                unifiedMergeView({
                  original: before,
                  mergeControls: false,
                  gutter: true,
                  highlightChanges: true,
                  syntaxHighlightDeletions: true,
                  collapseUnchanged: { margin: 2, minSize: 6 }
                })
              ]
            : [],
        config: {
          readOnly: true,
          lineNumbers: false,
          lineWrap: true,
          highlightActiveLine: false,
          tabFocusable: true
        }
      });
    } else if (diff.kind === 'updated' && !diff.sourceChanged) {
      this.node.appendChild(element('div', 'jp-mcp-ext-CellDiff-note', trans.__('Source unchanged.')));
    } else if (!before && !after) {
      this.node.appendChild(element('div', 'jp-mcp-ext-CellDiff-note', trans.__('An empty cell.')));
    }

    const outputs = this._outputs(diff);
    if (outputs) {
      this.node.appendChild(outputs);
    }
    if (diff.metadataChanged) {
      this.node.appendChild(
        element('div', 'jp-mcp-ext-CellDiff-note', trans.__('The cell’s metadata (tags, settings) changed.'))
      );
    }
  }

  readonly diff: ICellDiff;

  /**
   * Mark the cell as one a refused revert named (the person changed it since).
   */
  setConflict(conflict: boolean): void {
    this.node.classList.toggle('jp-mod-conflict', conflict);
    this._conflict.hidden = !conflict;
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._editor?.dispose();
    this._model?.dispose();
    super.dispose();
  }

  /**
   * Outputs said in words ("stream → stream, execute_result") with the first lines
   * of the new (or removed) text; null when the outputs did not change.
   */
  private _outputs(diff: ICellDiff): HTMLElement | null {
    const trans = this._trans;
    const before = diff.before?.outputs;
    const after = diff.after?.outputs;
    let words = '';
    let preview = '';
    if (diff.kind === 'updated' && diff.outputsChanged) {
      if (after?.length && !before?.length) {
        words = trans.__('New outputs: %1', outputKinds(after));
        preview = outputPreview(after);
      } else if (before?.length && !after?.length) {
        words = trans.__('Outputs cleared (were: %1)', outputKinds(before));
        preview = outputPreview(before);
      } else {
        words = trans.__('Outputs changed: %1 → %2', outputKinds(before), outputKinds(after));
        preview = outputPreview(after);
      }
      const count = (cell: typeof diff.before): string =>
        cell?.execution_count === null || cell?.execution_count === undefined ? ' ' : String(cell.execution_count);
      if ((diff.before?.execution_count ?? null) !== (diff.after?.execution_count ?? null)) {
        words += ' · ' + trans.__('run count [%1] → [%2]', count(diff.before), count(diff.after));
      }
    } else if (diff.kind === 'added' && after?.length) {
      words = trans.__('With outputs: %1', outputKinds(after));
      preview = outputPreview(after);
    } else if (diff.kind === 'removed' && before?.length) {
      words = trans.__('Had outputs: %1', outputKinds(before));
      preview = outputPreview(before);
    }
    if (!words) {
      return null;
    }
    const node = element('div', 'jp-mcp-ext-CellDiff-outputs');
    node.appendChild(element('div', 'jp-mcp-ext-CellDiff-outputWords', words));
    if (preview) {
      node.appendChild(element('pre', 'jp-mcp-ext-CellDiff-outputPreview', preview));
    }
    return node;
  }

  private _trans: TranslationBundle;
  private _conflict: HTMLSpanElement;
  private _editor: CodeEditor.IEditor | null = null;
  private _model: CodeEditor.Model | null = null;
}

/**
 * A namespace for CellDiffView statics.
 */
export namespace CellDiffView {
  export interface IOptions {
    diff: ICellDiff;
    /**
     * JupyterLab's inline editor factory (`IEditorServices.factoryService.newInlineEditor`).
     */
    editorFactory: CodeEditor.Factory;
    /**
     * The mime type of the notebook's code cells (e.g. "text/x-ipython").
     */
    codeMimeType: string;
    trans: TranslationBundle;
  }
}

function kindLabel(diff: ICellDiff, trans: TranslationBundle): string {
  switch (diff.kind) {
    case 'added':
      return trans.__('Added');
    case 'removed':
      return trans.__('Removed');
    default:
      return trans.__('Changed');
  }
}

function mimeTypeOf(cellType: string, codeMimeType: string): string {
  switch (cellType) {
    case 'code':
      return codeMimeType;
    case 'markdown':
      return MARKDOWN_MIME_TYPE;
    default:
      return 'text/plain';
  }
}
