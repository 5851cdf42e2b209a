// Small helpers shared by the benchmarks.

/** `--name N` from the command line as a number, or `def`. */
export const numberArg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};

export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/**
 * Child processes of a benchmark: `start` spawns one with its output collected in `.out` and
 * its exit in `.done`; every one still running is killed (and `work` removed) when the
 * benchmark exits.
 */
export function processes(work, { spawn, rmSync }) {
  const children = new Set();
  const cleanup = () => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
  };
  process.on('exit', cleanup);
  process.on('SIGINT', () => process.exit(130));
  return function start(cmd, args, opts = {}) {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    children.add(c);
    c.out = '';
    c.stdout.on('data', (d) => (c.out += d));
    c.stderr.on('data', (d) => (c.out += d));
    c.done = new Promise((r) =>
      c.on('exit', (code) => {
        children.delete(c);
        r(code);
      }),
    );
    return c;
  };
}

/** Waits until `check()` is true, looking every `every` ms; throws after `ms`. */
export async function until(what, ms, check, every = 50) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/** CPU seconds (user + system) of a process, from /proc/<pid>/stat. */
export function cpuSeconds(pid, readFileSync) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
