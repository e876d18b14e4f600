import type { Server, Socket } from 'node:net';

const SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const FIXED_LENGTH = 16;
/** Type of the TLV saying the client connection used TLS, and its "client connected over SSL/TLS" bit. */
const TLV_SSL = 0x20;
const CLIENT_SSL = 0x01;
const MAX_HEADER_BYTES = 4096;

/** What a PROXY protocol v2 header says about the client connection. */
export interface ProxiedConnection {
  /** Absent for LOCAL connections (the proxy's own, e.g. health checks). */
  source?: { address: string; port: number; family: 'IPv4' | 'IPv6' };
  tls: boolean;
}

const viaTls = new WeakSet<Socket>();

/** Whether the client reached the proxy in front over TLS (the proxy terminated it). */
export function arrivedOverTls(socket: Socket): boolean {
  return viaTls.has(socket) || (socket as Socket & { encrypted?: boolean }).encrypted === true;
}

function ipv6Text(bytes: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  // The URL parser writes IPv6 addresses in their canonical compressed form.
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

/** Parses a complete v2 header; null while more bytes are needed; throws on anything else. */
export function parseProxyHeader(data: Buffer): { header: ProxiedConnection; length: number } | null {
  if (data.length < FIXED_LENGTH) {
    if (!SIGNATURE.subarray(0, data.length).equals(data.subarray(0, SIGNATURE.length))) {
      throw new Error('not a PROXY protocol v2 header');
    }
    return null;
  }
  if (!data.subarray(0, 12).equals(SIGNATURE)) throw new Error('not a PROXY protocol v2 header');
  const versionCommand = data[12] ?? 0;
  const family = data[13] ?? 0;
  const length = FIXED_LENGTH + data.readUInt16BE(14);
  if (versionCommand >> 4 !== 2) throw new Error('unsupported PROXY protocol version');
  if (length > MAX_HEADER_BYTES) throw new Error('PROXY protocol header too long');
  if (data.length < length) return null;
  const body = data.subarray(FIXED_LENGTH, length);
  const local = (versionCommand & 0x0f) === 0;
  let source: ProxiedConnection['source'];
  let tlvStart = 0;
  if (family >> 4 === 1 && body.length >= 12) {
    source = { address: [...body.subarray(0, 4)].join('.'), port: body.readUInt16BE(8), family: 'IPv4' };
    tlvStart = 12;
  } else if (family >> 4 === 2 && body.length >= 36) {
    source = { address: ipv6Text(body.subarray(0, 16)), port: body.readUInt16BE(32), family: 'IPv6' };
    tlvStart = 36;
  } else if (!local) {
    throw new Error('PROXY protocol header without a usable address');
  }
  let tls = false;
  for (let at = tlvStart; at + 3 <= body.length;) {
    const type = body[at] ?? 0;
    const size = body.readUInt16BE(at + 1);
    if (type === TLV_SSL && size >= 1) tls = ((body[at + 3] ?? 0) & CLIENT_SSL) !== 0;
    at += 3 + size;
  }
  return { header: local ? { tls } : { source, tls }, length };
}

/** Makes the socket report the client's address, as if the client had connected directly. */
function adopt(socket: Socket, header: ProxiedConnection): void {
  if (header.source) {
    const { address, port, family } = header.source;
    Object.defineProperty(socket, 'remoteAddress', { value: address, configurable: true });
    Object.defineProperty(socket, 'remotePort', { value: port, configurable: true });
    Object.defineProperty(socket, 'remoteFamily', { value: family, configurable: true });
  }
  if (header.tls) viaTls.add(socket);
}

/**
 * Makes a server behind a PROXY-protocol proxy (HAProxy's `send-proxy-v2`) see every connection as its
 * client made it: the header is read and removed before the server's own connection handling begins, the
 * socket then reports the client's address, and `arrivedOverTls` tells whether the proxy terminated TLS.
 * A connection that does not start with a valid header, or not within `timeoutMs`, is closed unanswered:
 * only the proxy speaks to this server.
 */
export function acceptProxyProtocol(server: Server, timeoutMs = 5_000): void {
  const handlers = server.listeners('connection') as Array<(socket: Socket) => void>;
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    let received: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    const onData = (chunk: Buffer): void => {
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      let parsed: ReturnType<typeof parseProxyHeader>;
      try {
        parsed = parseProxyHeader(received);
      } catch {
        clearTimeout(timer);
        socket.destroy();
        return;
      }
      if (parsed === null) return;
      clearTimeout(timer);
      socket.removeListener('data', onData);
      adopt(socket, parsed.header);
      // Still flowing with no listener: the rest is buffered until the server's own 'data' listener.
      if (received.length > parsed.length) socket.unshift(received.subarray(parsed.length));
      for (const handler of handlers) handler.call(server, socket);
    };
    socket.on('data', onData);
    socket.once('close', () => clearTimeout(timer));
  });
}
