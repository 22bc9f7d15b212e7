/**
 * The active notebook plugin: reports the notebook and cell the person has
 * focused to the server (`jupyter-mcp-ext/context`), for MCP clients'
 * `get_active_notebook`, unless the person turned it off in the settings
 * ("MCP: active notebook" > shareActiveNotebook).
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { Cell } from '@jupyterlab/cells';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { ContextClient } from './api';
import { ContextReporter } from './reporter';
import { focusState } from './snapshot';

/**
 * The plugin's id; also the id of its settings (labextension/schema/context.json).
 */
export const CONTEXT_PLUGIN_ID = 'jupyter-mcp-ext:context';

/**
 * The setting that turns the reports on and off.
 */
export const SHARE_SETTING = 'shareActiveNotebook';

export const contextPlugin: JupyterFrontEndPlugin<void> = {
  id: CONTEXT_PLUGIN_ID,
  description:
    'Tells the server which notebook and cell you have focused, for MCP clients (get_active_notebook).',
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ISettingRegistry],
  activate: (
    app: JupyterFrontEnd,
    notebooks: INotebookTracker,
    registry: ISettingRegistry | null
  ): void => {
    const reporter = new ContextReporter({
      client: new ContextClient(app.serviceManager.serverSettings),
      snapshot: () => focusState(notebooks)
    });
    const changed = (): void => reporter.changed();

    const watch = (panel: NotebookPanel): void => {
      panel.context.pathChanged.connect(changed);
      panel.context.model.stateChanged.connect(changed); // dirty
      panel.sessionContext.kernelChanged.connect(changed);
      panel.content.stateChanged.connect(changed); // command or edit mode
      panel.content.model?.cells.changed.connect(changed); // indices move
      panel.disposed.connect(changed);
    };
    notebooks.forEach(watch);
    notebooks.widgetAdded.connect((_, panel) => {
      watch(panel);
      changed();
    });
    notebooks.currentChanged.connect(changed);
    notebooks.selectionChanged.connect(changed);
    // The cursor and selected text of the active cell: its model's selections.
    let editing: Cell | null = null;
    const followActiveCell = (_: unknown, cell: Cell | null): void => {
      if (editing && !editing.isDisposed) {
        editing.model.selections.changed.disconnect(changed);
      }
      editing = cell;
      cell?.model.selections.changed.connect(changed);
      changed();
    };
    notebooks.activeCellChanged.connect(followActiveCell);
    followActiveCell(null, notebooks.activeCell);

    // Coming back to this tab is a focus change even if nothing else changed:
    // the window regains the focus, or (two windows side by side, where no
    // focus event may come) the person clicks into it.
    window.addEventListener('focus', () => reporter.focused());
    document.addEventListener('pointerdown', () => reporter.focused(), true);
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') {
        reporter.focused();
      }
    });
    window.addEventListener('pagehide', () => reporter.pageHidden());

    if (!registry) {
      reporter.enabled = true;
      return;
    }
    registry
      .load(CONTEXT_PLUGIN_ID)
      .then(settings => {
        const apply = (): void => {
          reporter.enabled = settings.get(SHARE_SETTING).composite !== false;
        };
        apply();
        settings.changed.connect(apply);
      })
      .catch(error => {
        // Without the settings, whether the person turned it off is unknown: report nothing.
        console.warn('jupyter-mcp-ext: the active notebook is not shared (settings not loaded)', error);
      });
  }
};
