/**
 * The agent changes plugin: the "N agent changes" item of every notebook's
 * toolbar, the markers of the cells an agent changed, and the command "Review
 * Agent Changes" (palette, notebook context menu) that opens the review of a
 * notebook beside it.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget } from '@jupyterlab/apputils';
import { IEditorServices } from '@jupyterlab/codeeditor';
import { DocumentRegistry } from '@jupyterlab/docregistry';
import { INotebookModel, INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ITranslator, nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { refreshIcon } from '@jupyterlab/ui-components';
import { DisposableDelegate, IDisposable } from '@lumino/disposable';

import { baseName } from '../jobs/format';
import { actionButton } from '../toolbar';

import { ChangesClient } from './api';
import { CellMarkers } from './cellmarkers';
import { agentChangesIcon } from './icons';
import { ChangesModel } from './model';
import { pendingCount } from './review';
import { ChangesReview, IReviewedNotebook } from './reviewpanel';
import { AgentChangesItem } from './toolbaritem';

/**
 * The command ids of the agent changes plugin.
 */
export namespace ChangesCommandIDs {
  export const review = 'jupyter-mcp-ext:review-agent-changes';
}

/**
 * The mime type of code cells when the notebook is not open (IPython, Lab's default).
 */
const DEFAULT_CODE_MIME_TYPE = 'text/x-ipython';

export const changesPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-mcp-ext:agent-changes',
  description:
    'Shows what MCP clients changed in a notebook (toolbar count, cell markers, a review with diffs) and reverts or keeps it.',
  autoStart: true,
  requires: [INotebookTracker, IEditorServices],
  optional: [ITranslator, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    notebooks: INotebookTracker,
    editorServices: IEditorServices,
    translator: ITranslator | null,
    palette: ICommandPalette | null
  ): void => {
    const trans = (translator ?? nullTranslator).load('jupyter_mcp_ext');
    const { commands, serviceManager } = app;
    const model = new ChangesModel({
      client: new ChangesClient(serviceManager.serverSettings),
      events: serviceManager.events ?? null
    });
    const reviews = new Map<string, MainAreaWidget<ChangesReview>>();

    /**
     * The open notebooks of an API path (several views of one file are possible).
     */
    const openPanels = (path: string): NotebookPanel[] => {
      const found: NotebookPanel[] = [];
      notebooks.forEach(panel => {
        if (panel.context.localPath === path) {
          found.push(panel);
        }
      });
      return found;
    };

    const reviewed = (path: string): IReviewedNotebook => ({
      path,
      codeMimeType: () => openPanels(path)[0]?.content.codeMimetype || DEFAULT_CODE_MIME_TYPE,
      cellIndex: id => {
        const cells = openPanels(path)[0]?.content.model?.cells;
        if (!cells) {
          return -1;
        }
        for (let i = 0; i < cells.length; i++) {
          if (cells.get(i).id === id) {
            return i;
          }
        }
        return -1;
      },
      afterRevert: () => showReverted(openPanels(path), trans)
    });

    const openReview = (path: string): void => {
      let widget = reviews.get(path);
      if (!widget || widget.isDisposed) {
        const content = new ChangesReview({
          model,
          notebook: reviewed(path),
          editorFactory: options => editorServices.factoryService.newInlineEditor(options),
          trans
        });
        widget = new MainAreaWidget({ content });
        widget.addClass('jp-mcp-ext-ChangesReviewWidget');
        widget.id = `jupyter-mcp-ext-changes-${Math.random().toString(36).slice(2, 10)}`;
        widget.title.icon = agentChangesIcon;
        widget.title.closable = true;
        setReviewTitle(widget, path, trans);
        const review = content;
        widget.toolbar.addItem(
          'refresh',
          actionButton({
            icon: refreshIcon,
            tooltip: trans.__('Reload the changes from the server'),
            onClick: () => void review.refresh()
          })
        );
        const opened = widget;
        reviews.set(path, opened);
        opened.disposed.connect(() => {
          if (reviews.get(review.path) === opened) {
            reviews.delete(review.path);
          }
        });
        // Beside the notebook, so that a revert shows in it at once.
        const panel = openPanels(path)[0];
        app.shell.add(widget, 'main', panel ? { mode: 'split-right', ref: panel.id } : undefined);
      }
      app.shell.activateById(widget.id);
    };

    /**
     * The notebook a command invocation is about: its `path` argument, else the current notebook.
     */
    const targetPath = (args: { [key: string]: unknown }): string | null => {
      if (typeof args.path === 'string' && args.path) {
        return args.path;
      }
      const current = notebooks.currentWidget;
      return current ? current.context.localPath : null;
    };

    commands.addCommand(ChangesCommandIDs.review, {
      label: trans.__('Review Agent Changes'),
      caption: trans.__('Show what MCP clients changed in this notebook, with diffs, to revert or keep'),
      icon: agentChangesIcon,
      isEnabled: args => targetPath(args) !== null,
      execute: args => {
        const path = targetPath(args);
        if (path) {
          openReview(path);
        }
      }
    });
    palette?.addItem({ command: ChangesCommandIDs.review, category: trans.__('MCP') });
    app.contextMenu.addItem({
      command: ChangesCommandIDs.review,
      selector: '.jp-Notebook',
      rank: 12
    });

    // A renamed notebook takes its review along.
    const onPathChanged = (panel: NotebookPanel, oldPath: string): void => {
      const widget = reviews.get(oldPath);
      const path = panel.context.localPath;
      if (widget && !widget.isDisposed && path !== oldPath) {
        reviews.delete(oldPath);
        reviews.set(path, widget);
        widget.content.setNotebook(reviewed(path));
        setReviewTitle(widget, path, trans);
      }
    };

    app.docRegistry.addWidgetExtension(
      'Notebook',
      new NotebookChanges({ model, trans, openReview, onPathChanged })
    );
  }
};

/**
 * The toolbar item and the cell markers of every notebook, following its changes.
 */
class NotebookChanges implements DocumentRegistry.IWidgetExtension<NotebookPanel, INotebookModel> {
  constructor(
    private _options: {
      model: ChangesModel;
      trans: TranslationBundle;
      openReview: (path: string) => void;
      onPathChanged: (panel: NotebookPanel, oldPath: string) => void;
    }
  ) {}

  createNew(panel: NotebookPanel, context: DocumentRegistry.IContext<INotebookModel>): IDisposable {
    const { model, trans, openReview, onPathChanged } = this._options;
    const item = new AgentChangesItem({
      trans,
      onClick: () => openReview(context.localPath)
    });
    if (!panel.toolbar.insertBefore('kernelName', 'agentChanges', item)) {
      panel.toolbar.addItem('agentChanges', item);
    }
    const markers = new CellMarkers(panel.content, trans);
    let path = context.localPath;
    let watch = model.watch(path);
    const show = (): void => {
      const changes = model.changes(path) ?? [];
      item.setCount(pendingCount(changes));
      markers.update(changes);
    };
    const onChanged = (_: ChangesModel, changed: string): void => {
      if (changed === path) {
        show();
      }
    };
    model.changed.connect(onChanged);
    const onRenamed = (): void => {
      const oldPath = path;
      path = context.localPath;
      if (path === oldPath) {
        return;
      }
      watch.dispose();
      watch = model.watch(path);
      show();
      onPathChanged(panel, oldPath);
    };
    context.pathChanged.connect(onRenamed);
    show();
    return new DisposableDelegate(() => {
      model.changed.disconnect(onChanged);
      context.pathChanged.disconnect(onRenamed);
      watch.dispose();
      markers.dispose();
      item.dispose();
    });
  }
}

function setReviewTitle(widget: MainAreaWidget<ChangesReview>, path: string, trans: TranslationBundle): void {
  widget.title.label = trans.__('Changes: %1', baseName(path));
  widget.title.caption = trans.__('Agent changes in %1', path);
}

/**
 * After a revert: a notebook open with real-time collaboration already shows it
 * (the server changed the shared document); one open from the file is loaded
 * again when it has no unsaved changes, so that no "File Changed" dialog comes
 * up later. Resolves with a sentence when a notebook could not be reloaded.
 */
async function showReverted(panels: NotebookPanel[], trans: TranslationBundle): Promise<string> {
  const problems: string[] = [];
  const contexts = new Set(panels.map(panel => panel.context));
  for (const context of contexts) {
    if (context.model.collaborative) {
      continue;
    }
    if (context.model.dirty) {
      problems.push(
        trans.__(
          'The file was reverted, but %1 has unsaved changes, so it was not reloaded: use File ▸ Reload Notebook from Disk to see the revert (your unsaved edits are then lost), or save to keep your version.',
          baseName(context.localPath)
        )
      );
      continue;
    }
    try {
      await context.revert();
    } catch (error) {
      problems.push(trans.__('Could not reload %1: %2', baseName(context.localPath), String(error)));
    }
  }
  return problems.join(' ');
}
