import { createHmac, timingSafeEqual } from 'node:crypto';
import { CLASS_ANY, encodeName, readName, TYPE_TSIG } from './dns-message.js';

/** A TSIG key (RFC 8945) as the DNS server knows it: name, algorithm and base64 secret. */
export interface TsigKey {
  name: string;
  algorithm: TsigAlgorithm;
  /** The shared secret, decoded. */
  secret: Buffer;
}

/** The HMAC algorithms DNS servers accept for TSIG, by their DNS names. */
export const TSIG_ALGORITHMS = {
  'hmac-sha1': 'sha1',
  'hmac-sha224': 'sha224',
  'hmac-sha256': 'sha256',
  'hmac-sha384': 'sha384',
  'hmac-sha512': 'sha512',
} as const;
export type TsigAlgorithm = keyof typeof TSIG_ALGORITHMS;

/** How far the signer's and the server's clocks may differ, in seconds. */
const FUDGE_SECONDS = 300;

/** The TSIG errors a server reports, by code. */
export const TSIG_ERRORS: Readonly<Record<number, string>> = {
  16: 'BADSIG (the signature does not match: wrong secret)',
  17: 'BADKEY (the server does not accept this key here: unknown key or algorithm, or a name outside what the key may update)',
  18: 'BADTIME (the clocks of codiusd and the DNS server differ by more than 5 minutes)',
  22: 'BADTRUNC',
};

function uint48(seconds: number): Buffer {
  const bytes = Buffer.alloc(6);
  bytes.writeUIntBE(seconds, 0, 6);
  return bytes;
}

function uint16(value: number): Buffer {
  const bytes = Buffer.alloc(2);
  bytes.writeUInt16BE(value, 0);
  return bytes;
}

/** The TSIG variables covered by the MAC (RFC 8945 §4.3.3). */
function variables(key: TsigKey, time: Buffer, fudge: number, error: number, other: Buffer): Buffer {
  return Buffer.concat([
    encodeName(key.name),
    uint16(CLASS_ANY),
    Buffer.alloc(4), // TTL 0
    encodeName(key.algorithm),
    time,
    uint16(fudge),
    uint16(error),
    uint16(other.length),
    other,
  ]);
}

function hmac(key: TsigKey, ...parts: Buffer[]): Buffer {
  const mac = createHmac(TSIG_ALGORITHMS[key.algorithm], key.secret);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

export interface SignedMessage {
  message: Buffer;
  /** The request's MAC, which the answer's signature covers. */
  mac: Buffer;
}

/** Appends a TSIG record to an unsigned message and counts it in the additional section. */
export function signMessage(unsigned: Buffer, key: TsigKey, nowSeconds: number): SignedMessage {
  const time = uint48(nowSeconds);
  const mac = hmac(key, unsigned, variables(key, time, FUDGE_SECONDS, 0, Buffer.alloc(0)));
  const data = Buffer.concat([
    encodeName(key.algorithm),
    time,
    uint16(FUDGE_SECONDS),
    uint16(mac.length),
    mac,
    unsigned.subarray(0, 2), // original ID
    uint16(0),
    uint16(0),
  ]);
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(TYPE_TSIG, 0);
  fixed.writeUInt16BE(CLASS_ANY, 2);
  fixed.writeUInt16BE(data.length, 8);
  const message = Buffer.concat([unsigned, encodeName(key.name), fixed, data]);
  message.writeUInt16BE(unsigned.readUInt16BE(10) + 1, 10);
  return { message, mac };
}

export interface TsigVerdict {
  /** The TSIG error the server reports (0: none). */
  error: number;
  /** Whether the answer's MAC is the server's signature over it and the request's MAC. */
  authentic: boolean;
}

/** Reads an answer's TSIG record and checks its signature. */
export function verifyAnswer(unsigned: Buffer, tsig: Buffer, key: TsigKey, requestMac: Buffer): TsigVerdict {
  const algorithm = readName(tsig, 0);
  let at = algorithm.end;
  const time = tsig.subarray(at, at + 6);
  const fudge = tsig.readUInt16BE(at + 6);
  const macSize = tsig.readUInt16BE(at + 8);
  at += 10;
  const mac = tsig.subarray(at, at + macSize);
  at += macSize + 2; // original ID
  const error = tsig.readUInt16BE(at);
  const otherLength = tsig.readUInt16BE(at + 2);
  const other = tsig.subarray(at + 4, at + 4 + otherLength);
  if (macSize === 0 || algorithm.name.toLowerCase() !== key.algorithm) return { error, authentic: false };
  const expected = hmac(
    key,
    uint16(requestMac.length),
    requestMac,
    unsigned,
    variables(key, time, fudge, error, other),
  );
  return { error, authentic: expected.length === mac.length && timingSafeEqual(expected, mac) };
}
