/**
 * The extension's own LabIcon: a plug, for the MCP sidebar tab and command.
 */
import { LabIcon } from '@jupyterlab/ui-components';

// `jp-icon3` lets the icon follow the light and dark themes like Lab's own icons.
const svgstr = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <path class="jp-icon3" fill="#616161" d="M16 7V3h-2v4h-4V3H8v4C7 7 6 8 6 9v5.5L9.5 18v3h5v-3l3.5-3.5V9c0-1-1-2-2-2z"/>
</svg>`;

export const mcpIcon = new LabIcon({ name: 'jupyter-mcp-ext:mcp', svgstr });
