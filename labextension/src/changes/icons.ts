/**
 * The agent changes icon: a cell with a pencil mark.
 */
import { LabIcon } from '@jupyterlab/ui-components';

// `jp-icon3` lets the icon follow the light and dark themes like Lab's own icons.
const svgstr = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <path class="jp-icon3" fill="#616161" d="M3 4h12v2H5v12h10v-4h2v6H3zM7 9h6v2H7zM7 13h4v2H7zM19.3 3.3l1.4 1.4-7.3 7.3-2 .6.6-2z"/>
</svg>`;

export const agentChangesIcon = new LabIcon({ name: 'jupyter-mcp-ext:agent-changes', svgstr });
