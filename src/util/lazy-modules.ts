/**
 * Node modules that take tens of milliseconds to load (node:http brings the HTTP parser and
 * agents, node:https also TLS), loaded on first use rather than when the bundle starts: the
 * daemon opens its ports before it makes any HTTP request, and `create`, `show` or `status`
 * never make one. One bundle, no code splitting: a `require` inside a function is enough.
 */
import type * as Http from 'node:http';
import type * as Https from 'node:https';
import type * as Dns from 'node:dns';
import type * as Tls from 'node:tls';
import type * as Crypto from 'node:crypto';
import type * as FsPromises from 'node:fs/promises';
import type * as V8 from 'node:v8';

let http: typeof Http | undefined;
let https: typeof Https | undefined;
let dns: typeof Dns | undefined;
let tls: typeof Tls | undefined;
let crypto: typeof Crypto | undefined;
let fsPromises: typeof FsPromises | undefined;
let v8: typeof V8 | undefined;

export const nodeHttp = (): typeof Http => (http ??= require('node:http') as typeof Http);
export const nodeHttps = (): typeof Https => (https ??= require('node:https') as typeof Https);
export const nodeDns = (): typeof Dns => (dns ??= require('node:dns') as typeof Dns);
/** TLS: only a web seed's https connections need it. */
export const nodeTls = (): typeof Tls => (tls ??= require('node:tls') as typeof Tls);
/**
 * The modules the tracker's path to its open port does not need (node:crypto alone is about
 * 15 internal modules): loaded at first use, so a cold start loads them after the port opens.
 */
export const nodeCrypto = (): typeof Crypto => (crypto ??= require('node:crypto') as typeof Crypto);
export const nodeFsPromises = (): typeof FsPromises => (fsPromises ??= require('node:fs/promises') as typeof FsPromises);
export const nodeV8 = (): typeof V8 => (v8 ??= require('node:v8') as typeof V8);
