// The baseline for bench/http-endpoints: a bare node:http server answering the bodies a codiusd of the same
// run answered (read from the JSON file named by the second argument: path → body), so the ratio shows
// what hapi, routing, logging and the store cost per request.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const bodies = JSON.parse(readFileSync(String(process.argv[3]), 'utf8')) as Record<string, string>;

const server = createServer((request, response) => {
  const body = bodies[request.url ?? ''];
  if (body === undefined) {
    response.writeHead(404).end();
    return;
  }
  response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' }).end(body);
});
server.listen(Number(process.argv[2]), '127.0.0.1', () => console.log('ready'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
