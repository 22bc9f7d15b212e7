/* Style module of the jupyter-mcp-ext Lab panel, loaded by the prebuilt extension. */
import './base.css';
