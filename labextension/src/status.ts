/**
 * Client side of the server's REST status route and the MCP endpoint URL.
 */
import { PageConfig, URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/**
 * The JSON body of `GET <baseUrl>jupyter-mcp-ext/status`.
 *
 * Only `version`, `mcp_path` and `tools` are always present; older or trimmed
 * servers may leave out the rest.
 */
export interface IMCPStatus {
  version: string;
  mcp_path: string;
  tools: string[];
  tool_count?: number;
  protocol_versions?: string[];
  root_dir?: string;
  active_sessions?: number;
  kernels?: number;
  jobs?: { queued?: number; running?: number };
}

/**
 * The absolute URL of the MCP endpoint, `<baseUrl>mcp`, as a client must be given it.
 */
export function mcpEndpointUrl(): string {
  // getBaseUrl() is normally absolute already; URL() also covers a relative one.
  const url = URLExt.join(PageConfig.getBaseUrl(), 'mcp');
  return new URL(url, window.location.href).href;
}

/**
 * Fetch the extension's status from the server.
 *
 * Throws `ServerConnection.NetworkError` when the server cannot be reached and
 * `ServerConnection.ResponseError` for a non-2xx answer.
 */
export async function fetchStatus(
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<IMCPStatus> {
  const url = URLExt.join(settings.baseUrl, 'jupyter-mcp-ext', 'status');
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, {}, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  if (!response.ok) {
    throw await ServerConnection.ResponseError.create(response);
  }
  return (await response.json()) as IMCPStatus;
}
