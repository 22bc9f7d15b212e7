/**
 * The jupyter-mcp-ext Lab plugins: the MCP sidebar panel and its palette command,
 * the Notebook Jobs panel (jobs/plugin.ts), the review of agent changes
 * (changes/plugin.ts), and the report of the active notebook (context/plugin.ts).
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';

import { changesPlugin } from './changes/plugin';
import { contextPlugin } from './context/plugin';
import { mcpIcon } from './icon';
import { jobsPlugin } from './jobs/plugin';
import { MCPPanel } from './panel';
import { fetchStatus, mcpEndpointUrl } from './status';

/**
 * The sidebar widget's id; also the `data-id` of its tab.
 */
export const PANEL_ID = 'jupyter-mcp-ext-panel';

/**
 * The command ids used by the plugin.
 */
export namespace CommandIDs {
  export const open = 'jupyter-mcp-ext:open';
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter-mcp-ext:plugin',
  description: 'Shows the MCP endpoint and the MCP server status in the left sidebar.',
  autoStart: true,
  optional: [ICommandPalette, ILayoutRestorer],
  activate: (
    app: JupyterFrontEnd,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null
  ): void => {
    const panel = new MCPPanel({
      endpoint: mcpEndpointUrl(),
      fetchStatus: () => fetchStatus(app.serviceManager.serverSettings)
    });
    panel.id = PANEL_ID;
    panel.title.icon = mcpIcon;
    panel.title.caption = 'MCP';
    app.shell.add(panel, 'left', { rank: 1000 });
    restorer?.add(panel, PANEL_ID);

    app.commands.addCommand(CommandIDs.open, {
      label: 'Show MCP panel',
      caption: 'Show the MCP endpoint and the MCP server status',
      icon: mcpIcon,
      execute: () => app.shell.activateById(PANEL_ID)
    });
    palette?.addItem({ command: CommandIDs.open, category: 'MCP' });
  }
};

export default [plugin, jobsPlugin, changesPlugin, contextPlugin];
