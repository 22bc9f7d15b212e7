/**
 * Pure helpers of the agent changes review: which changes are still to review,
 * how they group by client and session, which ids "revert all of this session
 * since here" sends, how a change's cells pair up for a diff, and how times and
 * outputs are said. No DOM, no server.
 */
import { IChange, IChangeDetail, INotebookCell, IOutput } from './api';

/**
 * Whether a record is a revert made in JupyterLab (or through REST), not an agent's change.
 */
export function isRevertRecord(change: IChange): boolean {
  return change.reverts.length > 0 || change.tool === 'revert';
}

/**
 * Whether a change is still to review: an agent's change, neither kept nor reverted.
 */
export function isPending(change: IChange): boolean {
  return !change.kept && !change.reverted && !isRevertRecord(change);
}

/**
 * The number the notebook toolbar shows: the changes still to review.
 */
export function pendingCount(changes: ReadonlyArray<IChange>): number {
  return changes.filter(isPending).length;
}

/**
 * Milliseconds since the epoch of a change's ISO 8601 time (NaN when unreadable).
 */
export function changeTime(change: IChange): number {
  return Date.parse(change.time);
}

/**
 * Changes newest first; equal times keep the order they came in (the server's).
 */
export function newestFirst(changes: ReadonlyArray<IChange>): IChange[] {
  return changes
    .map((change, position) => ({ change, position, time: changeTime(change) || 0 }))
    .sort((a, b) => b.time - a.time || a.position - b.position)
    .map(item => item.change);
}

/**
 * What tells one agent session from another: its client and its session id.
 */
export function sessionKey(change: IChange): string {
  return JSON.stringify([change.client ?? '', change.session ?? '']);
}

/**
 * The changes of one session of one client, newest first.
 */
export interface ISessionGroup {
  key: string;
  client: string | null;
  session: string | null;
  changes: IChange[];
}

/**
 * `changes` grouped by client and session; the group with the newest change
 * first, and each group's changes newest first.
 */
export function groupBySession(changes: ReadonlyArray<IChange>): ISessionGroup[] {
  const groups = new Map<string, ISessionGroup>();
  for (const change of newestFirst(changes)) {
    const key = sessionKey(change);
    let group = groups.get(key);
    if (!group) {
      group = { key, client: change.client, session: change.session, changes: [] };
      groups.set(key, group);
    }
    group.changes.push(change);
  }
  return [...groups.values()];
}

/**
 * The ids "revert all of this session since here" sends for the change `id`:
 * that change and every later change of the same client and session that is not
 * reverted yet (kept ones too: a later change may build on them), newest first.
 * Empty when `id` is not in `changes`.
 */
export function sinceHere(changes: ReadonlyArray<IChange>, id: string): string[] {
  const ordered = newestFirst(changes);
  const at = ordered.findIndex(change => change.id === id);
  if (at < 0) {
    return [];
  }
  const key = sessionKey(ordered[at]);
  return ordered
    .slice(0, at + 1)
    .filter(change => sessionKey(change) === key && !change.reverted && !isRevertRecord(change))
    .map(change => change.id);
}

/**
 * How long ago a time was, as a person says it: "just now", "1 min ago",
 * "25 min ago", "3 h ago", "yesterday", "4 days ago".
 */
export function timeAgo(time: string | number, now: number = Date.now()): string {
  const then = typeof time === 'number' ? time : Date.parse(time);
  if (!isFinite(then)) {
    return '';
  }
  const seconds = Math.max(0, (now - then) / 1000);
  if (seconds < 45) {
    return 'just now';
  }
  const minutes = Math.max(1, Math.round(seconds / 60));
  if (minutes < 60) {
    return `${minutes} min ago`;
  }
  const hours = Math.floor(minutes / 60);
  if (hours < 24) {
    return `${hours} h ago`;
  }
  const days = Math.floor(hours / 24);
  return days === 1 ? 'yesterday' : `${days} days ago`;
}

/**
 * Who made a change, for the person: the MCP client's name, or a neutral word.
 */
export function clientLabel(client: string | null | undefined): string {
  return client || 'an MCP client';
}

/**
 * The pending change that last touched each cell, by cell id (cells without an
 * id cannot be matched in the open notebook and are left out).
 */
export function latestChangeByCell(changes: ReadonlyArray<IChange>): Map<string, IChange> {
  const byCell = new Map<string, IChange>();
  for (const change of newestFirst(changes)) {
    if (!isPending(change)) {
      continue;
    }
    for (const cell of change.cells) {
      if (!cell.startsWith('#') && !byCell.has(cell)) {
        byCell.set(cell, change);
      }
    }
  }
  return byCell;
}

/**
 * A cell's source as one string.
 */
export function sourceText(cell: INotebookCell | null | undefined): string {
  if (!cell) {
    return '';
  }
  return Array.isArray(cell.source) ? cell.source.join('') : (cell.source ?? '');
}

/**
 * What a change did to one cell.
 */
export type CellDiffKind = 'added' | 'removed' | 'updated';

/**
 * One cell of a change, before and after, and what differs.
 */
export interface ICellDiff {
  /**
   * The cell's id, or `#<index>` for a cell without one (the server's key).
   */
  key: string;
  kind: CellDiffKind;
  /**
   * Where the cell is after the change (where it was, for a removed cell).
   */
  index: number;
  cellType: string;
  before: INotebookCell | null;
  after: INotebookCell | null;
  sourceChanged: boolean;
  typeChanged: boolean;
  outputsChanged: boolean;
  metadataChanged: boolean;
}

/**
 * The cells of a change, in notebook order: updated cells (in `before` and
 * `after`), added cells (only in `after`) and removed cells (only in `before`).
 */
export function cellDiffs(detail: Pick<IChangeDetail, 'before' | 'after'>): ICellDiff[] {
  const keyOf = (state: { id: string | null; index: number }): string =>
    state.id ? state.id : `#${state.index}`;
  const befores = new Map(detail.before.map(state => [keyOf(state), state]));
  const diffs: ICellDiff[] = [];
  const seen = new Set<string>();
  for (const state of detail.after) {
    const key = keyOf(state);
    seen.add(key);
    const was = befores.get(key);
    diffs.push(compare(key, state.index, was?.cell ?? null, state.cell));
  }
  for (const [key, state] of befores) {
    if (!seen.has(key)) {
      diffs.push(compare(key, state.index, state.cell, null));
    }
  }
  // Notebook order; a removed cell before the cell that took its place.
  return diffs.sort(
    (a, b) => a.index - b.index || Number(b.kind === 'removed') - Number(a.kind === 'removed')
  );
}

function compare(
  key: string,
  index: number,
  before: INotebookCell | null,
  after: INotebookCell | null
): ICellDiff {
  const kind: CellDiffKind = !before ? 'added' : !after ? 'removed' : 'updated';
  const both = before && after;
  return {
    key,
    kind,
    index,
    cellType: (after ?? before)?.cell_type ?? 'code',
    before,
    after,
    sourceChanged: both ? sourceText(before) !== sourceText(after) : true,
    typeChanged: both ? before.cell_type !== after.cell_type : false,
    outputsChanged: both
      ? json(before.outputs ?? []) !== json(after.outputs ?? []) ||
        (before.execution_count ?? null) !== (after.execution_count ?? null)
      : false,
    metadataChanged: both ? json(before.metadata ?? {}) !== json(after.metadata ?? {}) : false
  };
}

function json(value: unknown): string {
  return JSON.stringify(value);
}

/**
 * The kinds of a cell's outputs in words: "stream, display_data ×2" ("no output").
 */
export function outputKinds(outputs: ReadonlyArray<IOutput> | undefined): string {
  if (!outputs || !outputs.length) {
    return 'no output';
  }
  const counts = new Map<string, number>();
  for (const output of outputs) {
    const kind = output.output_type === 'stream' && output.name ? output.name : output.output_type;
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
  }
  return [...counts]
    .map(([kind, count]) => (count > 1 ? `${kind} ×${count}` : kind))
    .join(', ');
}

/**
 * The first lines of text of a cell's outputs (stream text, text/plain, an
 * error's name and value), at most `maxLines` lines of `maxChars` characters.
 */
export function outputPreview(
  outputs: ReadonlyArray<IOutput> | undefined,
  maxLines = 3,
  maxChars = 120
): string {
  const lines: string[] = [];
  for (const output of outputs ?? []) {
    let text = '';
    if (output.output_type === 'stream') {
      text = joined(output.text);
    } else if (output.output_type === 'error') {
      text = `${output.ename ?? ''}: ${output.evalue ?? ''}`;
    } else if (output.data) {
      const plain = output.data['text/plain'];
      const types = Object.keys(output.data);
      text = plain !== undefined ? joined(plain as string | string[]) : `[${types.join(', ')}]`;
    }
    for (const line of text.split('\n')) {
      if (line.trim() && lines.length < maxLines) {
        lines.push(line.length > maxChars ? line.slice(0, maxChars - 1) + '…' : line);
      }
    }
    if (lines.length >= maxLines) {
      break;
    }
  }
  return lines.join('\n');
}

function joined(text: string | string[] | undefined): string {
  return Array.isArray(text) ? text.join('') : (text ?? '');
}

/**
 * The cells a refused revert names, as the person reads them: "cell 3" when the
 * cell is found in the open notebook (`indexOf` gives its index, or -1), else its id.
 */
export function conflictCellNames(cells: ReadonlyArray<string>, indexOf: (id: string) => number): string[] {
  return cells.map(cell => {
    const index = cell.startsWith('#') ? Number(cell.slice(1)) : indexOf(cell);
    return index >= 0 && isFinite(index) ? `cell ${index}` : cell;
  });
}
