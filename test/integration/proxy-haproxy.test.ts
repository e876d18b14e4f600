// The same behaviour with CODIUS_PROXY_ENGINE=haproxy (HAProxy on the public port, pods routed by its map).
process.env.CODIUS_TEST_PROXY_ENGINE = 'haproxy';
await import('./proxy-suite.js');
