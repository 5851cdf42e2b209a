/**
 * Typed errors. Every error a user can see is a MeshseedError with a stable `code`
 * (for scripts and tests) and a message that says what is wrong, where, and what to do.
 */
export type ErrorCode =
  | 'EUSAGE' // bad command line: exit 2
  | 'ECONFIG' // bad UCI file or option value
  | 'EBENCODE' // malformed bencode
  | 'EMETAINFO' // a .torrent that is not a valid v1 torrent
  | 'EIO' // a file could not be read or written
  | 'ECHECK' // a check failed (verify found damage): exit 1
  | 'EDAEMON' // the running daemon could not be reached
  | 'EWEBSEED' // a web seed (BEP 19) answered badly, could not be reached, or was dropped
  | 'EMAGNET' // a magnet link or info hash that cannot be used
  | 'ECATALOG'; // a catalog (listing, feed, catalog.json) that cannot be read

export class MeshseedError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'MeshseedError';
    this.code = code;
  }
}

export const usageError = (message: string): MeshseedError => new MeshseedError('EUSAGE', message);

/** A short description of any thrown value, for one-line log messages. */
export function describeError(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code;
    return code && !(err instanceof MeshseedError) ? `${err.message}` : err.message;
  }
  return String(err);
}
