/**
 * The DNS wire format (RFC 1035) as far as a dynamic update needs it: names, resource records, an UPDATE
 * message (RFC 2136) adding or deleting TXT records, and the header and TSIG record of an answer.
 */

export const TYPE_SOA = 6;
export const TYPE_TXT = 16;
export const TYPE_TSIG = 250;
export const CLASS_IN = 1;
/** Deletes one record (the one with this data) rather than a whole RRset. */
export const CLASS_NONE = 254;
export const CLASS_ANY = 255;
const OPCODE_UPDATE = 5;

/** A name in canonical (lower-case, uncompressed) wire form. */
export function encodeName(name: string): Buffer {
  const labels = name.replace(/\.$/, '').toLowerCase().split('.').filter(Boolean);
  const parts: Buffer[] = [];
  for (const label of labels) {
    const bytes = Buffer.from(label, 'ascii');
    if (bytes.length > 63) throw new Error(`DNS label longer than 63 bytes in ${name}`);
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  const wire = Buffer.concat(parts);
  if (wire.length > 255) throw new Error(`DNS name longer than 255 bytes: ${name}`);
  return wire;
}

/** TXT data: the text in character-strings of at most 255 bytes each. */
export function txtData(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8');
  const parts: Buffer[] = [];
  for (let offset = 0; offset < bytes.length || offset === 0; offset += 255) {
    const chunk = bytes.subarray(offset, offset + 255);
    parts.push(Buffer.from([chunk.length]), chunk);
    if (bytes.length === 0) break;
  }
  return Buffer.concat(parts);
}

export interface ResourceRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  data: Buffer;
}

export function encodeRecord(record: ResourceRecord): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(record.type, 0);
  fixed.writeUInt16BE(record.class, 2);
  fixed.writeUInt32BE(record.ttl, 4);
  fixed.writeUInt16BE(record.data.length, 8);
  return Buffer.concat([encodeName(record.name), fixed, record.data]);
}

export interface TxtChange {
  /** add: the record is added with this TTL; delete: only the record with this value is removed. */
  action: 'add' | 'delete';
  name: string;
  value: string;
  ttl: number;
}

/** An UPDATE message for `zone` making these TXT changes, without the TSIG record (signing adds it). */
export function encodeTxtUpdate(id: number, zone: string, changes: readonly TxtChange[]): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(OPCODE_UPDATE << 11, 2);
  header.writeUInt16BE(1, 4); // zone section: the zone's SOA
  header.writeUInt16BE(0, 6); // prerequisites: none
  header.writeUInt16BE(changes.length, 8);
  header.writeUInt16BE(0, 10);
  const zoneEntry = Buffer.concat([encodeName(zone), Buffer.from([0, TYPE_SOA, 0, CLASS_IN])]);
  const updates = changes.map((change) =>
    encodeRecord({
      name: change.name,
      type: TYPE_TXT,
      class: change.action === 'add' ? CLASS_IN : CLASS_NONE,
      ttl: change.action === 'add' ? change.ttl : 0,
      data: txtData(change.value),
    }),
  );
  return Buffer.concat([header, zoneEntry, ...updates]);
}

/** Reads past a (possibly compressed) name; returns the offset after it. */
function skipName(message: Buffer, offset: number): number {
  let at = offset;
  for (;;) {
    if (at >= message.length) throw new Error('truncated DNS name');
    const length = message[at] as number;
    if (length === 0) return at + 1;
    if ((length & 0xc0) === 0xc0) return at + 2;
    at += 1 + length;
  }
}

/** Reads a name that is not compressed (TSIG's key and algorithm names never are). */
export function readName(message: Buffer, offset: number): { name: string; end: number } {
  const labels: string[] = [];
  let at = offset;
  for (;;) {
    if (at >= message.length) throw new Error('truncated DNS name');
    const length = message[at] as number;
    if (length === 0) return { name: labels.join('.'), end: at + 1 };
    if ((length & 0xc0) === 0xc0) throw new Error('compressed name where none is allowed');
    labels.push(message.subarray(at + 1, at + 1 + length).toString('ascii'));
    at += 1 + length;
  }
}

export interface ParsedAnswer {
  id: number;
  rcode: number;
  /** The message up to the TSIG record, with the additional count as if it had none. */
  unsigned: Buffer;
  /** The TSIG record's data, when the answer is signed or reports a TSIG error. */
  tsig: Buffer | null;
}

/** Splits an answer into its header fields, its body without TSIG, and its TSIG record. */
export function parseAnswer(message: Buffer): ParsedAnswer {
  if (message.length < 12) throw new Error('DNS answer shorter than its header');
  const counts = [4, 6, 8, 10].map((at) => message.readUInt16BE(at));
  let offset = 12;
  for (let i = 0; i < (counts[0] as number); i += 1) offset = skipName(message, offset) + 4;
  const records = (counts[1] as number) + (counts[2] as number) + (counts[3] as number);
  let tsig: Buffer | null = null;
  let tsigStart = message.length;
  for (let i = 0; i < records; i += 1) {
    const start = offset;
    offset = skipName(message, offset);
    const type = message.readUInt16BE(offset);
    const length = message.readUInt16BE(offset + 8);
    const dataStart = offset + 10;
    offset = dataStart + length;
    if (offset > message.length) throw new Error('truncated DNS record');
    if (type === TYPE_TSIG && i === records - 1) {
      tsig = message.subarray(dataStart, offset);
      tsigStart = start;
    }
  }
  const unsigned = Buffer.from(message.subarray(0, tsigStart));
  if (tsig) unsigned.writeUInt16BE((counts[3] as number) - 1, 10);
  return { id: message.readUInt16BE(0), rcode: message.readUInt16BE(2) & 0x0f, unsigned, tsig };
}

/** A standard query (recursion desired) for one name and type. */
export function encodeQuery(id: number, name: string, type: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE(0x0100, 2);
  header.writeUInt16BE(1, 4);
  return Buffer.concat([header, encodeName(name), Buffer.from([0, type, 0, CLASS_IN])]);
}

export interface TxtAnswer {
  rcode: number;
  truncated: boolean;
  /** Each TXT record's character-strings joined. */
  values: string[];
  /** The smallest TTL among them, in seconds. */
  ttl: number | null;
}

/** The TXT records of an answer (whatever their owner: a CNAME chain ends at the name asked for). */
export function parseTxtAnswer(message: Buffer): TxtAnswer {
  if (message.length < 12) throw new Error('DNS answer shorter than its header');
  const flags = message.readUInt16BE(2);
  let offset = 12;
  for (let i = 0; i < message.readUInt16BE(4); i += 1) offset = skipName(message, offset) + 4;
  const values: string[] = [];
  let ttl: number | null = null;
  for (let i = 0; i < message.readUInt16BE(6); i += 1) {
    offset = skipName(message, offset);
    const type = message.readUInt16BE(offset);
    const recordTtl = message.readUInt32BE(offset + 4);
    const length = message.readUInt16BE(offset + 8);
    const data = message.subarray(offset + 10, offset + 10 + length);
    offset += 10 + length;
    if (offset > message.length) throw new Error('truncated DNS record');
    if (type !== TYPE_TXT) continue;
    const chunks: Buffer[] = [];
    for (let at = 0; at < data.length; at += 1 + (data[at] as number)) {
      chunks.push(data.subarray(at + 1, at + 1 + (data[at] as number)));
    }
    values.push(Buffer.concat(chunks).toString('utf8'));
    ttl = ttl === null ? recordTtl : Math.min(ttl, recordTtl);
  }
  return { rcode: flags & 0x0f, truncated: (flags & 0x0200) !== 0, values, ttl };
}
