/**
 * Two network namespaces joined by a veth pair, for multicast tests: addresses exist only
 * inside them, a route for 239.0.0.0/8 on the veth (namespaces have no default route, and
 * Transmission's LPD fails with ENODEV without one). Removed by `destroy()`; namespaces a
 * killed earlier run left behind (named with a pid that is gone) are removed on creation.
 */
import { spawnSync } from 'node:child_process';

export interface NsPair {
  a: string;
  b: string;
  /** veth names inside a and b */
  ifA: string;
  ifB: string;
  addrA: string;
  addrB: string;
  addr6A: string;
  addr6B: string;
  /** Deletes the veth pair (the interfaces vanish from both namespaces). */
  unlink(): void;
  /** Creates the veth pair again, same names and addresses. */
  link(): void;
  destroy(): void;
}

function ip(args: string[]): { ok: boolean; out: string } {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}` };
}

function must(args: string[]): void {
  const r = ip(args);
  if (!r.ok) throw new Error(`ip ${args.join(' ')}: ${r.out.trim()}`);
}

function removeNs(name: string): void {
  // processes we started there go with it
  for (const pid of ip(['netns', 'pids', name]).out.split(/\s+/).filter((p) => /^\d+$/.test(p))) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {}
  }
  ip(['netns', 'del', name]);
}

/** Whether process `pid` exists (EPERM: it does, owned by someone else). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Creates the pair, or returns the reason it cannot (no privilege, no `ip`). */
export function createNsPair(prefix: string): NsPair | { skip: string } {
  for (const line of ip(['netns', 'list']).out.split('\n')) {
    const m = new RegExp(`^(${prefix}(\\d+)[ab])\\b`).exec(line);
    if (m && !alive(Number(m[2]))) removeNs(m[1]!);
  }
  const base = `${prefix}${process.pid}`;
  const a = `${base}a`;
  const b = `${base}b`;
  const probe = ip(['netns', 'add', a]);
  if (!probe.ok) return { skip: `cannot create network namespaces (${probe.out.trim()}); run as root` };
  const subnet = 1 + (process.pid % 250);
  const pair: NsPair = {
    a,
    b,
    ifA: `${base}x`,
    ifB: `${base}y`,
    addrA: `10.207.${subnet}.1`,
    addrB: `10.207.${subnet}.2`,
    addr6A: `fd07:${subnet.toString(16)}::1`,
    addr6B: `fd07:${subnet.toString(16)}::2`,
    unlink: () => must(['-n', a, 'link', 'del', pair.ifA]),
    link: () => {
      must(['link', 'add', pair.ifA, 'netns', a, 'type', 'veth', 'peer', 'name', pair.ifB, 'netns', b]);
      for (const [ns, dev, v4, v6] of [
        [a, pair.ifA, pair.addrA, pair.addr6A],
        [b, pair.ifB, pair.addrB, pair.addr6B],
      ] as const) {
        must(['-n', ns, 'addr', 'add', `${v4}/24`, 'dev', dev]);
        must(['-n', ns, 'addr', 'add', `${v6}/64`, 'dev', dev, 'nodad']);
        must(['-n', ns, 'link', 'set', dev, 'up']);
        must(['-n', ns, 'route', 'add', '239.0.0.0/8', 'dev', dev]);
      }
    },
    destroy: () => {
      removeNs(a);
      removeNs(b);
    },
  };
  try {
    must(['netns', 'add', b]);
    must(['-n', a, 'link', 'set', 'lo', 'up']);
    must(['-n', b, 'link', 'set', 'lo', 'up']);
    pair.link();
  } catch (e) {
    pair.destroy();
    throw e;
  }
  return pair;
}
