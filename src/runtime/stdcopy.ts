import { Transform, type TransformCallback } from 'node:stream';

/** One Docker stdcopy frame: which stream it came from and its payload. */
export interface LogFrame {
  /** 1 stdout, 2 stderr; 0 stdin and anything else are passed on as numbers. */
  stream: number;
  payload: Buffer;
}

const HEADER_BYTES = 8;

/**
 * Splits a Docker stdcopy byte stream (8-byte header: stream byte, 3 zero bytes, uint32 big-endian length;
 * then the payload) into frames. Chunks may cut a header or a payload anywhere, or hold several frames:
 * bytes are kept until a whole frame is there (a chunk is not a frame).
 */
export class StdcopyDemuxer extends Transform {
  private pending: Buffer = Buffer.alloc(0);

  constructor() {
    super({ readableObjectMode: true });
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let offset = 0;
    while (this.pending.length - offset >= HEADER_BYTES) {
      const length = this.pending.readUInt32BE(offset + 4);
      const end = offset + HEADER_BYTES + length;
      if (end > this.pending.length) break;
      const stream = this.pending[offset] ?? 0;
      const frame: LogFrame = { stream, payload: this.pending.subarray(offset + HEADER_BYTES, end) };
      this.push(frame);
      offset = end;
    }
    // Copy the remainder so the big chunk it came from can be collected.
    this.pending = offset === 0 ? this.pending : Buffer.from(this.pending.subarray(offset));
    callback();
  }

  override _flush(callback: TransformCallback): void {
    // A truncated last frame (the runtime went away mid-frame) is still worth showing.
    if (this.pending.length > HEADER_BYTES) {
      const frame: LogFrame = { stream: this.pending[0] ?? 0, payload: this.pending.subarray(HEADER_BYTES) };
      this.push(frame);
    }
    this.pending = Buffer.alloc(0);
    callback();
  }
}

/** Builds a frame, for runtimes' test doubles and for tests. */
export function encodeFrame(stream: number, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const header = Buffer.alloc(HEADER_BYTES);
  header[0] = stream;
  header.writeUInt32BE(body.length, 4);
  return Buffer.concat([header, body]);
}
