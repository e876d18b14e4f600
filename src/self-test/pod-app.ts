/**
 * The program of the self test's pod, run by the host's own Node binary inside the image. It answers any
 * HTTP request with `{"imageUploaded":true}` and greets any WebSocket with one text message
 * `{"websocketEnabled":true}`: what the self test reads back through the public URI. It uses nothing but
 * Node's own modules, so the image needs no registry and no internet.
 */
export const SELF_TEST_POD_APP = `
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';

const port = Number(process.env.PORT || 3000);
const server = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ imageUploaded: true, host: req.headers.host || null }));
});
server.on('upgrade', (req, socket) => {
  const key = req.headers['sec-websocket-key'];
  if (typeof key !== 'string' || String(req.headers.upgrade).toLowerCase() !== 'websocket') {
    socket.end('HTTP/1.1 400 Bad Request\\r\\nConnection: close\\r\\n\\r\\n');
    return;
  }
  const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
  socket.write('HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\n' +
    'Sec-WebSocket-Accept: ' + accept + '\\r\\n\\r\\n');
  const text = Buffer.from(JSON.stringify({ websocketEnabled: true }));
  socket.write(Buffer.concat([Buffer.from([0x81, text.length]), text]));
  socket.on('data', () => undefined);
  socket.on('error', () => undefined);
});
server.listen(port, () => console.log('self-test pod listening on ' + port));
process.on('SIGTERM', () => process.exit(0));
`;
