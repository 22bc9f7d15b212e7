/* Style module of the jupyter-mcp-ext Lab panels, loaded by the prebuilt extension. */
import './base.css';
import './jobs.css';
import './changes.css';
