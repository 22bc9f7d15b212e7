/**
 * The Notebook Jobs icon: a queue of runs (lines) with a play mark.
 */
import { LabIcon } from '@jupyterlab/ui-components';

// `jp-icon3` lets the icon follow the light and dark themes like Lab's own icons.
const svgstr = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <path class="jp-icon3" fill="#616161" d="M3 5h14v2H3zM3 10h14v2H3zM3 15h8v2H3zM14 14v8l6.5-4z"/>
</svg>`;

export const jobsIcon = new LabIcon({ name: 'jupyter-mcp-ext:jobs', svgstr });

// A clock: the schedules, and the jobs they start.
const scheduleSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <path class="jp-icon3" fill="#616161" d="M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm0 2a8 8 0 1 1 0 16 8 8 0 0 1 0-16zm-1 3v5.41l3.8 3.8 1.4-1.42-3.2-3.2V7z"/>
</svg>`;

export const scheduleIcon = new LabIcon({ name: 'jupyter-mcp-ext:schedule', svgstr: scheduleSvg });
