/**
 * The DHT's state file (`dht.json` in state_dir): our node id and the routing table's
 * contacts, so a rebooted router keeps its place in the DHT and rejoins at once (the
 * saved contacts are pinged at start; those that answer go back in the table). Written
 * atomically (temp file, fsync, rename) and rarely (flash wears): at most every
 * SAVE_INTERVAL_MS and on stop. A file that cannot be read is ignored with a warning: the
 * node then starts with a new id and an empty table, as on first boot.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { isIPv4 } from 'node:net';
import { writeFileAtomic } from '../util/atomic-write.js';

export const DHT_STATE_FILE = 'dht.json';
/** Flash wears: the table is written at most this often (and on stop). */
export const SAVE_INTERVAL_MS = 10 * 60_000;
const STATE_VERSION = 1;
/** A file past this is not ours (3200 contacts, the most dht.max_nodes allows, take about 130 KiB): it is not read. */
export const MAX_DHT_STATE_BYTES = 1 << 20;

export interface DhtState {
  /** 40 hex digits. */
  nodeId: string;
  nodes: { host: string; port: number }[];
}

export function encodeDhtState(state: DhtState): Uint8Array {
  return Buffer.from(JSON.stringify({ version: STATE_VERSION, nodeId: state.nodeId, nodes: state.nodes }) + '\n');
}

/** The state in a file's text, or why it is not one. Keeps at most `maxNodes` valid contacts. */
export function decodeDhtState(text: string, maxNodes: number): DhtState | { error: string } {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch {
    return { error: 'not JSON' };
  }
  if (typeof j !== 'object' || j === null) return { error: 'not an object' };
  const o = j as Record<string, unknown>;
  if (o.version !== STATE_VERSION) return { error: `unknown version ${String(o.version)}` };
  if (typeof o.nodeId !== 'string' || !/^[0-9a-f]{40}$/.test(o.nodeId)) return { error: 'no node id' };
  if (!Array.isArray(o.nodes)) return { error: 'no node list' };
  const nodes: DhtState['nodes'] = [];
  for (const n of o.nodes) {
    if (nodes.length >= maxNodes) break;
    if (typeof n !== 'object' || n === null) continue;
    const { host, port } = n as Record<string, unknown>;
    if (typeof host === 'string' && isIPv4(host) && typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535) nodes.push({ host, port });
  }
  return { nodeId: o.nodeId, nodes };
}

export function loadDhtState(stateDir: string, maxNodes: number): DhtState | { error: string } | undefined {
  const path = join(stateDir, DHT_STATE_FILE);
  let text: string;
  try {
    const size = statSync(path).size;
    if (size > MAX_DHT_STATE_BYTES) return { error: `larger than ${MAX_DHT_STATE_BYTES} bytes (${size})` };
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    return { error: (err as Error).message };
  }
  return decodeDhtState(text, maxNodes);
}

export function saveDhtState(stateDir: string, state: DhtState): void {
  writeFileAtomic(join(stateDir, DHT_STATE_FILE), encodeDhtState(state), { overwrite: true });
}
