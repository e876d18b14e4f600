import { request } from 'node:http';

/**
 * A JSON request to a pod's app on its address in the pod network (port 3000), with an Authorization
 * header (the example apps' spending key); resolves with the parsed answer.
 */
export function callPod<T>(ip: string, path: string, method: string, authorization: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const headers = { authorization };
    const req = request({ host: ip, port: 3000, path, method, headers, timeout: 30_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve(JSON.parse(body) as T));
    });
    req.on('timeout', () => req.destroy(new Error(`${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}
