/**
 * Client side of the server's REST status and connect routes, and the MCP endpoint URL.
 */
import { PageConfig, URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { requestAPI } from './request';

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
  read_only?: boolean;
  withheld_tools?: string[];
  protocol_versions?: string[];
  root_dir?: string;
  /**
   * MCP sessions with an open stream or a request in the last
   * `active_session_seconds`: the clients connected now.
   */
  active_sessions?: number;
  /**
   * Every session the server holds, idle ones included.
   */
  open_sessions?: number;
  active_session_seconds?: number;
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
 * One MCP client's configuration, as `GET <baseUrl>jupyter-mcp-ext/connect` renders it.
 */
export interface IClientSnippet {
  id: string;
  title: string;
  where: string;
  snippet: string;
}

/**
 * The JSON body of `GET <baseUrl>jupyter-mcp-ext/connect`.
 */
export interface IConnectInfo {
  url: string;
  token_available: boolean;
  clients: IClientSnippet[];
}

/**
 * Fetch the client snippets for `endpoint`; with `withToken`, they hold the server's token.
 *
 * The token is asked for only when the user copies a snippet with it, and never kept.
 */
export async function fetchConnectInfo(
  endpoint: string,
  withToken = false,
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<IConnectInfo> {
  const query: { [key: string]: string } = { url: endpoint };
  if (withToken) {
    query.with_token = '1';
  }
  return requestAPI<IConnectInfo>(['connect'], { query, settings });
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
  return requestAPI<IMCPStatus>(['status'], { settings });
}
