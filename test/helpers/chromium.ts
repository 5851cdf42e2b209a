/**
 * Debian's headless Chromium for tests: `dumpDom` runs `--dump-dom` (the DOM after load, as a
 * string), `openPage` drives one tab over the DevTools protocol on a pipe
 * (`--remote-debugging-pipe`: JSON messages ended by NUL on fds 3 and 4, no port opened) to
 * set a viewport, load a page, evaluate an expression in it and take a screenshot.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { run } from '../helpers';

const BASE_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--no-default-browser-check', '--disable-extensions', '--disable-background-networking', '--disable-sync', '--metrics-recording-only', '--mute-audio'];

/** The DOM Chromium renders for `url` at `width`×`height` (`--dump-dom`). */
export async function dumpDom(url: string, width: number, height: number): Promise<string> {
  const profile = mkdtempSync(join(tmpdir(), 'meshseed-chromium-'));
  try {
    const r = await run('chromium', [...BASE_FLAGS, `--user-data-dir=${profile}`, `--window-size=${width},${height}`, '--dump-dom', url], { timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`chromium --dump-dom exited ${r.code}: ${r.stderr.slice(-2000)}`);
    return r.stdout;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

export interface Tab {
  /** Sets the viewport (a phone: mobile true) and loads `url`; resolves on the load event. */
  load(url: string, width: number, height: number, mobile: boolean): Promise<void>;
  /** Evaluates an expression in the page and returns its value (by JSON). */
  evaluate<T>(expression: string): Promise<T>;
  /** A PNG of the whole page. */
  screenshot(): Promise<Buffer>;
  close(): Promise<void>;
}

export async function openTab(): Promise<Tab> {
  const profile = mkdtempSync(join(tmpdir(), 'meshseed-chromium-'));
  const child: ChildProcess = spawn('chromium', [...BASE_FLAGS, `--user-data-dir=${profile}`, '--remote-debugging-pipe', 'about:blank'], {
    stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const toBrowser = child.stdio[3] as Writable;
  const fromBrowser = child.stdio[4] as Readable;
  let nextId = 1;
  const waiting = new Map<number, { resolve(v: any): void; reject(e: Error): void }>();
  const listeners: ((method: string, params: any, sessionId?: string) => void)[] = [];
  let buf = '';
  fromBrowser.setEncoding('utf8');
  fromBrowser.on('data', (chunk: string) => {
    buf += chunk;
    for (let i = buf.indexOf('\0'); i >= 0; i = buf.indexOf('\0')) {
      const msg = JSON.parse(buf.slice(0, i));
      buf = buf.slice(i + 1);
      if (msg.id !== undefined) {
        const w = waiting.get(msg.id);
        waiting.delete(msg.id);
        if (msg.error) w?.reject(new Error(`CDP: ${JSON.stringify(msg.error)}`));
        else w?.resolve(msg.result);
      } else for (const l of listeners) l(msg.method, msg.params, msg.sessionId);
    }
  });
  child.on('exit', () => {
    for (const w of waiting.values()) w.reject(new Error(`chromium exited: ${stderr}`));
    waiting.clear();
  });
  const send = (method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<any> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      toBrowser.write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + '\0');
    });

  const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
  await send('Page.enable', {}, sessionId);
  await send('Runtime.enable', {}, sessionId);
  return {
    async load(url, width, height, mobile) {
      await send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile }, sessionId);
      const loaded = new Promise<void>((resolve) => {
        const l = (method: string, _p: unknown, sid?: string) => {
          if (method === 'Page.loadEventFired' && sid === sessionId) {
            listeners.splice(listeners.indexOf(l), 1);
            resolve();
          }
        };
        listeners.push(l);
      });
      const r = await send('Page.navigate', { url }, sessionId);
      if (r.errorText) throw new Error(`navigate ${url}: ${r.errorText}`);
      await loaded;
    },
    async evaluate(expression) {
      const r = await send('Runtime.evaluate', { expression, returnByValue: true }, sessionId);
      if (r.exceptionDetails) throw new Error(`evaluate: ${JSON.stringify(r.exceptionDetails)}`);
      return r.result.value;
    },
    async screenshot() {
      const r = await send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true }, sessionId);
      return Buffer.from(r.data, 'base64');
    },
    async close() {
      const exited = new Promise<void>((r) => (child.exitCode !== null ? r() : child.on('exit', () => r())));
      await send('Browser.close').catch(() => undefined);
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
