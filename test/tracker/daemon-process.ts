/** Runs `meshseed daemon` with the tracker on a random port (retrying when the port is taken). */
import { spawn, type ChildProcess } from 'node:child_process';
import { BUNDLE } from '../helpers';

export interface RunningDaemon {
  child: ChildProcess;
  port: number;
  log: () => string;
  stop(): Promise<number | null>;
}

export async function startDaemon(args: string[], cwd: string, fixedPort?: number): Promise<RunningDaemon> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const port = fixedPort ?? 20000 + Math.floor(Math.random() * 40000);
    const child = spawn(
      process.execPath,
      [BUNDLE, 'daemon', '--seeder-enabled', '0', '--lpd-enabled', '0', '--dht-enabled', '0', '--tracker-port', String(port), ...args],
      { cwd, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const ok = await new Promise<boolean>((resolve) => {
      const check = () => {
        if (/tracker: listening on/.test(out)) resolve(true);
        else if (/tracker: cannot start/.test(out)) resolve(false);
      };
      child.stderr!.on('data', check);
      child.on('exit', () => resolve(false));
    });
    const stop = async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    };
    if (ok) return { child, port, log: () => out, stop };
    await stop();
    if (fixedPort !== undefined || !/EADDRINUSE/.test(out)) throw new Error(`daemon did not start:\n${out}`);
  }
  throw new Error('no free port found for the daemon');
}
