declare module 'bencode' {
  const bencode: {
    encode(value: unknown): Uint8Array;
    decode(data: Uint8Array, encoding?: string): unknown;
    encodingLength(value: unknown): number;
  };
  export default bencode;
}
