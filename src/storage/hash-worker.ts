/**
 * A thread that computes SHA-1 of pieces the main thread reads, without copying them: the
 * piece buffers (slots) are views of SharedArrayBuffers both threads see. The main thread
 * reads a piece into a slot, posts the slot's number and the piece's length, and gets the
 * 20-byte digest back; the slot is not touched until then.
 *
 * The worker runs a few lines of its own (below), not the bundle: it starts in tens of
 * milliseconds and loads node:crypto alone. One worker per hashing thread past the first
 * (the main thread hashes too: parallel-hasher.ts).
 */
import type { Worker } from 'node:worker_threads';

/** The worker's whole program: hashes `slots[slot].subarray(0, length)` for each message. */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const slots = workerData.map((b) => new Uint8Array(b));
parentPort.on('message', (m) => {
  parentPort.postMessage([m[0], createHash('sha1').update(slots[m[0]].subarray(0, m[1])).digest()]);
});
`;

interface Waiting {
  resolve: (digest: Uint8Array) => void;
  reject: (err: Error) => void;
}

export class HashWorker {
  /** The shared piece buffers, `slotBytes` each. */
  readonly slots: Uint8Array[];
  private readonly worker: Worker;
  /** The digest awaited for each slot (one piece per slot at a time). */
  private readonly waiting: (Waiting | undefined)[];
  private failure: Error | undefined;

  constructor(slotCount: number, slotBytes: number) {
    const { Worker } = require('node:worker_threads') as typeof import('node:worker_threads');
    const buffers = Array.from({ length: slotCount }, () => new SharedArrayBuffer(slotBytes));
    this.slots = buffers.map((b) => new Uint8Array(b));
    this.waiting = buffers.map(() => undefined);
    // its own small heap: it holds one digest at a time
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: buffers, resourceLimits: { maxYoungGenerationSizeMb: 1, maxOldGenerationSizeMb: 8 } });
    this.worker.on('message', ([slot, digest]: [number, Uint8Array]) => {
      const w = this.waiting[slot];
      this.waiting[slot] = undefined;
      w?.resolve(digest);
    });
    this.worker.on('error', (err) => this.fail(err));
    this.worker.on('exit', (code) => this.fail(new Error(`the hashing thread stopped (exit code ${code})`)));
  }

  /** SHA-1 of the first `length` bytes of slot `slot`; the slot must not change until it resolves. */
  digest(slot: number, length: number): Promise<Uint8Array> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.waiting[slot]) return Promise.reject(new Error(`slot ${slot} is being hashed`));
    return new Promise((resolve, reject) => {
      this.waiting[slot] = { resolve, reject };
      this.worker.postMessage([slot, length]);
    });
  }

  /** Stops the thread (pieces still waiting fail); the process need not wait for it. */
  close(): void {
    this.fail(new Error('the hashing thread was closed'));
    this.worker.unref();
    void this.worker.terminate();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (let i = 0; i < this.waiting.length; i++) {
      const w = this.waiting[i];
      this.waiting[i] = undefined;
      w?.reject(this.failure);
    }
  }
}
