// The pod proxy's behaviour with the built-in engine (codiusd serves the public port itself).
process.env.CODIUS_TEST_PROXY_ENGINE = 'builtin';
await import('./proxy-suite.js');
