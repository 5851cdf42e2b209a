/**
 * Numbers of the tracker protocols, shared by the tracker (server side) and the announce
 * client (client side).
 */

// ---- BEP 15: UDP tracker protocol ----
/** The connect request's protocol_id. */
export const UDP_PROTOCOL_ID = 0x41727101980n;
export const UDP_ACTION_CONNECT = 0;
export const UDP_ACTION_ANNOUNCE = 1;
export const UDP_ACTION_SCRAPE = 2;
export const UDP_ACTION_ERROR = 3;
/** Request and response sizes (bytes) before variable parts. */
export const UDP_CONNECT_REQUEST_SIZE = 16;
export const UDP_CONNECT_RESPONSE_SIZE = 16;
/** Announce request without BEP 41 options. */
export const UDP_ANNOUNCE_REQUEST_SIZE = 98;
export const UDP_ANNOUNCE_RESPONSE_HEADER_SIZE = 20;
/** Error reply: action 3, transaction_id, then the message to the end of the datagram. */
export const UDP_ERROR_HEADER_SIZE = 8;
export const UDP_SCRAPE_REQUEST_HEADER_SIZE = 16;
/** BEP 15: "up to about 74 torrents can be scraped at once" (a full 1500-byte reply). */
export const UDP_SCRAPE_MAX_HASHES = 74;
/** BEP 15 events in UDP announces. */
export const UDP_EVENT = { none: 0, completed: 1, started: 2, stopped: 3 } as const;

// ---- BEP 23 / BEP 7: compact peer lists ----
export const COMPACT_PEER4_SIZE = 6;
export const COMPACT_PEER6_SIZE = 18;

// ---- BEP 3 / BEP 21: HTTP announce events ----
export const HTTP_EVENTS = ['started', 'completed', 'stopped', 'paused', 'empty'] as const;
export type AnnounceEvent = 'none' | 'started' | 'completed' | 'stopped' | 'paused';

// ---- BEP 3 / BEP 48: HTTP tracker limits (our bounds, checked before anything is buffered) ----
/** Longest request target accepted: an announce is ~300 bytes; 74 scrape hashes ~4.5 KiB. */
export const HTTP_MAX_TARGET_BYTES = 6144;
/** Most query parameters read from one request (a scrape of 74 hashes plus a few more). */
export const HTTP_MAX_PARAMS = 96;
/** Most info hashes answered in one HTTP scrape (the same bound as BEP 15's UDP scrape). */
export const HTTP_SCRAPE_MAX_HASHES = UDP_SCRAPE_MAX_HASHES;
/** Longest decoded value kept for a parameter other than info_hash/peer_id (key, trackerid, ip). */
export const HTTP_MAX_PARAM_VALUE_BYTES = 128;
/** Info hash and peer id are 20 raw bytes (BEP 3). */
export const INFO_HASH_SIZE = 20;
export const PEER_ID_SIZE = 20;

// ---- BEP 41: UDP tracker protocol extensions (options after the 98-byte announce) ----
export const UDP_OPTION_END = 0;
export const UDP_OPTION_NOP = 1;
export const UDP_OPTION_URL_DATA = 2;
/** Largest datagram read: a 74-hash scrape is 1496 bytes; options may add up to ~255 per option. */
export const UDP_MAX_DATAGRAM = 2048;
