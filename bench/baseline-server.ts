// The baseline for bench/http-endpoints: a bare node:http server answering fixed JSON bodies of the same
// shape as codiusd's, so the ratio shows what hapi, routing, logging and the store cost per request.
import { createServer } from 'node:http';

const bodies: Record<string, string> = {
  '/version': JSON.stringify({ name: 'Codiusd (JavaScript)', version: '0.0.0' }),
  '/info': JSON.stringify({
    fullMem: false,
    acceptingUploads: false,
    serverFreeMemory: 18957376512,
    serverUptime: 333.58,
    serviceUptime: 1.3,
    avgLoad: 0.1,
    numPeers: 0,
    currency: null,
    costPerMonth: 10,
    uri: 'http://local.codius.org:3000',
    selfTestSuccess: false,
    runningContracts: 0,
  }),
};

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
