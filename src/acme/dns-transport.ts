import { createSocket } from 'node:dgram';
import { connect, isIP } from 'node:net';

export interface DnsServer {
  host: string;
  port: number;
}

export const serverText = ({ host, port }: DnsServer): string =>
  `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;

/** One exchange over TCP (length-prefixed): no retransmission, no size limit. */
export function exchangeTcp(server: DnsServer, message: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, server.host);
    let received = Buffer.alloc(0);
    socket.setTimeout(timeoutMs, () =>
      socket.destroy(new Error(`no answer from ${serverText(server)} in ${timeoutMs} ms`)),
    );
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
        socket.end();
        resolve(received.subarray(2, 2 + received.readUInt16BE(0)));
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`${serverText(server)} closed without answering`)));
    const length = Buffer.alloc(2);
    length.writeUInt16BE(message.length, 0);
    socket.write(Buffer.concat([length, message]));
  });
}

/** One query over UDP; the answer must carry the query's ID. */
export function exchangeUdp(server: DnsServer, message: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIP(server.host) === 6 ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no answer from ${serverText(server)} in ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on('message', (answer: Buffer) => {
      if (answer.length < 2 || answer.readUInt16BE(0) !== message.readUInt16BE(0)) return;
      clearTimeout(timer);
      socket.close();
      resolve(answer);
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      socket.close();
      reject(error);
    });
    socket.send(message, server.port, server.host);
  });
}
