/**
 * The Notebook Jobs icon: a queue of runs (lines) with a play mark.
 */
import { LabIcon } from '@jupyterlab/ui-components';

// `jp-icon3` lets the icon follow the light and dark themes like Lab's own icons.
const svgstr = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <path class="jp-icon3" fill="#616161" d="M3 5h14v2H3zM3 10h14v2H3zM3 15h8v2H3zM14 14v8l6.5-4z"/>
</svg>`;

export const jobsIcon = new LabIcon({ name: 'jupyter-mcp-ext:jobs', svgstr });
