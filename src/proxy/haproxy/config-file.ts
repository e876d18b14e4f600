import type { AddressRule } from '../../net/address-list.js';
import { HOP_BY_HOP as HOP_BY_HOP_HEADERS } from '../headers.js';

/** Where the files of one HAProxy instance live (all inside codiusd's data directory). */
export interface HaproxyPaths {
  config: string;
  /** The pod routes: `<hash>.<public host> <pod address>/<port>`, one per line. */
  routes: string;
  /** The runtime API socket through which codiusd changes the routes. */
  socket: string;
  lua: string;
  /** Certificate and key in one file, when HAProxy terminates TLS. */
  tlsBundle: string | null;
  /** With TLS: the certificates served, the host's first (the default), then custom domains' by SNI. */
  crtList: string | null;
}

export interface HaproxySettings {
  bindIp: string;
  port: number;
  /** codiusd's own listener, behind HAProxy, spoken to with the PROXY protocol. */
  codiusd: { host: string; port: number };
  trustedProxies: readonly AddressRule[];
  /** The public URI's scheme, reported to pods when a trusted proxy does not say. */
  publicProto: 'http' | 'https';
  timeoutMs: number;
  /** Per pod: requests in flight are bounded by twice this, WebSockets by this; a client gets a quarter. */
  maxConnectionsPerPod: number;
  /** Client connections of the public port at once. */
  maxConnections: number;
  shutdownTimeoutMs: number;
  paths: HaproxyPaths;
}

/** The error body codiusd uses everywhere, as an HAProxy log-format string (values from transaction variables). */
function jsonError(status: number, error: string, message: string): string {
  const body = `{"statusCode":${status},"error":"${error}","message":"${message}"}`;
  return `content-type "application/json; charset=utf-8" lf-string '${body}'`;
}

/** Headers HAProxy manages itself; the rest of the hop-by-hop ones its rules remove. */
const MANAGED_BY_HAPROXY = new Set(['connection', 'transfer-encoding', 'upgrade']);
const HOP_BY_HOP = [...HOP_BY_HOP_HEADERS].filter((name) => !MANAGED_BY_HAPROXY.has(name));

const cidr = (rule: AddressRule): string => `${rule.address}/${rule.prefix}`;

/** ACLs belong to their section: every section that asks who sent a request declares this one. */
function trustedAcl(settings: HaproxySettings): string {
  const trusted = settings.trustedProxies.map(cidr).join(' ');
  return trusted ? `  acl from_trusted src ${trusted}` : '  acl from_trusted always_false';
}

/** X-Forwarded-For entries HAProxy reads itself; a longer chain of trusted proxies goes to codiusd. */
const FORWARDED_WALK = 4;

/**
 * Who the client is, as codiusd's own proxy names it: the peer, or behind a trusted proxy the nearest
 * X-Forwarded-For entry that is no trusted proxy itself (the leftmost when all are); an IPv6 client by its
 * /64. The walk reads up to FORWARDED_WALK entries from the right. An entry it cannot read as codiusd does
 * (no plain address, an address with a port, an IPv4-mapped one), or a chain longer than the walk, sends
 * the request to codiusd, which walks the whole list.
 */
function clientRules(settings: HaproxySettings): string[] {
  const trusted = settings.trustedProxies.map(cidr).join(' ');
  const rules = ['  http-request set-var(txn.client) src,ipmask(32,64) if !to_codiusd'];
  if (!trusted) return rules;
  for (let k = 1; k <= FORWARDED_WALK; k += 1) {
    const walking =
      k === 1
        ? 'from_trusted { req.hdr(x-forwarded-for) -m found }'
        : `{ var(txn.hop${k - 1}) -m ip ${trusted} }`;
    rules.push(
      `  http-request set-var(txn.hop${k}) req.hdr_ip(x-forwarded-for,-${k}) if !to_codiusd ${walking}`,
      `  http-request set-var(txn.to_codiusd) bool(true) if !to_codiusd ${walking} { req.hdr(x-forwarded-for,-${k}) -m found } !{ var(txn.hop${k}) -m found }`,
      `  http-request set-var(txn.to_codiusd) bool(true) if !to_codiusd ${walking} { req.hdr(x-forwarded-for,-${k}) -m reg -i ^(::ffff:|[0-9.]+:) }`,
      `  http-request set-var(txn.client) var(txn.hop${k}),ipmask(32,64) if !to_codiusd { var(txn.hop${k}) -m found }`,
    );
  }
  rules.push(
    `  http-request set-var(txn.to_codiusd) bool(true) if { var(txn.hop${FORWARDED_WALK}) -m ip ${trusted} } { req.hdr(x-forwarded-for,-${FORWARDED_WALK + 1}) -m found }`,
  );
  return rules;
}

function frontend(settings: HaproxySettings): string[] {
  const { paths, maxConnectionsPerPod: max } = settings;
  const tls = paths.crtList ? ` ssl crt-list ${paths.crtList} alpn h2,http/1.1` : '';
  const requestShare = Math.max(1, Math.floor((2 * max) / 4));
  const socketShare = Math.max(1, Math.floor(max / 4));
  return [
    'frontend public',
    `  bind ${settings.bindIp.includes(':') ? `[${settings.bindIp}]` : settings.bindIp}:${settings.port}${tls}`,
    `  maxconn ${settings.maxConnections}`,
    trustedAcl(settings),
    // The pod a Host names: any case, any port, a trailing dot allowed.
    "  http-request set-var(txn.podhost) req.hdr(host),field(1,:),lower,regsub('\\.$','')",
    `  http-request set-var(txn.route) var(txn.podhost),map(${paths.routes})`,
    '  acl is_pod var(txn.route) -m found',
    // Requests a header rule cannot forward exactly go to codiusd, which proxies them itself: headers
    // named by Connection (hop-by-hop by declaration), several X-Forwarded-For lines to join.
    '  acl named_hop_by_hop req.hdr(connection) -m reg -i ^(?!(keep-alive|close|upgrade)$)',
    '  acl several_forwarded_for req.fhdr_cnt(x-forwarded-for) gt 1',
    '  acl to_codiusd var(txn.to_codiusd) -m bool',
    '  http-request set-var(txn.to_codiusd) bool(true) if !is_pod or named_hop_by_hop or several_forwarded_for',
    '  acl is_upgrade req.hdr(connection) -m sub -i upgrade',
    '  acl is_upgrade_too req.hdr(upgrade) -m found',
    '  http-request set-var(txn.hash) var(txn.podhost),field(1,.) if !to_codiusd',
    '  http-request set-var(txn.port) var(txn.route),field(2,/) if !to_codiusd',
    ...clientRules(settings),
    '  http-request set-var(txn.kind) str(ws) if !to_codiusd is_upgrade is_upgrade_too',
    '  http-request set-var(txn.kind) str(http) if !to_codiusd !{ var(txn.kind) -m found }',
    "  http-request set-var(txn.pod_key) var(txn.kind),concat(' ',txn.hash) if !to_codiusd",
    "  http-request set-var(txn.client_key) var(txn.pod_key),concat(' ',txn.client) if !to_codiusd",
    '  http-request track-sc0 var(txn.pod_key) table pod_counts if !to_codiusd',
    '  http-request track-sc1 var(txn.client_key) table pod_counts if !to_codiusd',
    '  acl ws var(txn.kind) -m str ws',
    `  http-request deny deny_status 503 ${jsonError(503, 'Service Unavailable', 'pod %[var(txn.hash)] has too many requests in progress; try again shortly')} hdr Retry-After 1 if !to_codiusd !ws { sc0_conn_cur gt ${2 * max} }`,
    `  http-request deny deny_status 429 ${jsonError(429, 'Too Many Requests', 'too many requests from this client to pod %[var(txn.hash)] at once; try again shortly')} hdr Retry-After 1 if !to_codiusd !ws { sc1_conn_cur gt ${requestShare} }`,
    `  http-request deny deny_status 503 ${jsonError(503, 'Service Unavailable', 'pod %[var(txn.hash)] has too many open WebSocket connections; try again later')} if !to_codiusd ws { sc0_conn_cur gt ${max} }`,
    `  http-request deny deny_status 429 ${jsonError(429, 'Too Many Requests', 'too many WebSocket connections from this client to pod %[var(txn.hash)]')} if !to_codiusd ws { sc1_conn_cur gt ${socketShare} }`,
    '  use_backend codiusd if to_codiusd',
    '  use_backend pod_sockets if ws',
    '  default_backend pods',
    '',
  ];
}

/** What every request to a pod gets: its address, X-Forwarded-* as codiusd's own proxy sets them, no hop-by-hop. */
function podBackend(name: string, settings: HaproxySettings, upgrade: boolean): string[] {
  const proto = settings.paths.tlsBundle ? '%[ssl_fc,iif(https,http)]' : 'http';
  return [
    `backend ${name}`,
    trustedAcl(settings),
    '  http-request set-dst var(txn.route),field(1,/)',
    '  http-request set-dst-port var(txn.port)',
    ...HOP_BY_HOP.map((header) => `  http-request del-header ${header}`),
    ...(upgrade ? [] : ['  http-request del-header upgrade']),
    '  http-request del-header forwarded unless from_trusted',
    '  http-request del-header x-real-ip unless from_trusted',
    '  http-request set-header x-forwarded-for %[src] unless from_trusted { req.hdr(x-forwarded-for) -m found }',
    '  http-request set-header x-forwarded-for "%[req.fhdr(x-forwarded-for)], %[src]" if from_trusted { req.hdr(x-forwarded-for) -m found }',
    `  http-request set-header x-forwarded-proto ${proto} unless from_trusted`,
    `  http-request set-header x-forwarded-proto ${settings.publicProto} if from_trusted !{ req.hdr(x-forwarded-proto) -m found }`,
    '  http-request set-header x-forwarded-host %[req.hdr(host)] unless from_trusted { req.hdr(x-forwarded-host) -m found }',
    // Marks answers that came from the pod, so only HAProxy's own 503s are turned into 502s below.
    '  http-response set-var(txn.from_pod) bool(true)',
    '  http-response lua.drop_named_hop_by_hop if { res.hdr(connection) -m found } !{ status 101 }',
    ...HOP_BY_HOP.map((header) => `  http-response del-header ${header}`),
    `  http-error status 503 ${jsonError(502, 'Bad Gateway', 'pod %[var(txn.hash)] refused the connection on port %[var(txn.port)]')}`,
    `  http-error status 504 ${jsonError(504, 'Gateway Timeout', 'pod %[var(txn.hash)] did not answer in time')}`,
    // HAProxy says 503 when it cannot connect; codiusd's proxy says 502 (its own 503s carry Retry-After).
    '  http-after-response set-status 502 if { status 503 } !{ var(txn.from_pod) -m bool }',
    '  server pod 0.0.0.0:0',
    '',
  ];
}

/**
 * The HAProxy configuration for CODIUS_PROXY_ENGINE=haproxy: HAProxy owns the public port and sends a
 * request whose Host is a routed pod straight to the pod's address (from the routes map, which codiusd
 * keeps current through the runtime socket); everything else (the API, unknown or expired hashes, pods
 * without a port or not running, requests only codiusd forwards exactly) goes to codiusd unchanged, with
 * the client's address in a PROXY protocol header, so codiusd answers exactly as it does on its own.
 */
export function renderHaproxyConfig(settings: HaproxySettings): string {
  const { paths } = settings;
  const seconds = (ms: number): string => `${Math.max(1, Math.ceil(ms))}ms`;
  return [
    'global',
    `  stats socket ${paths.socket} mode 600 level admin`,
    `  lua-load ${paths.lua}`,
    '  log stderr format raw local0 err',
    `  hard-stop-after ${seconds(settings.shutdownTimeoutMs)}`,
    '',
    'defaults',
    '  mode http',
    '  log global',
    '  option dontlognull',
    `  timeout connect ${seconds(Math.min(settings.timeoutMs, 10_000))}`,
    `  timeout server ${seconds(settings.timeoutMs)}`,
    `  timeout tunnel ${seconds(settings.timeoutMs)}`,
    '  timeout client 65s',
    '  timeout http-request 20s',
    '  timeout http-keep-alive 65s',
    '  retries 0',
    '',
    ...frontend(settings),
    'backend pod_counts',
    '  stick-table type string len 160 size 1m expire 1h store conn_cur',
    '',
    ...podBackend('pods', settings, false),
    ...podBackend('pod_sockets', settings, true),
    'backend codiusd',
    `  server codiusd ${settings.codiusd.host}:${settings.codiusd.port} send-proxy-v2-ssl`,
    '',
  ].join('\n');
}

/** Drops the response headers a pod's Connection header names (HAProxy forwards them otherwise). */
export const HOP_BY_HOP_LUA = `-- Loaded by codiusd's HAProxy: a pod's response headers named by its Connection header are hop-by-hop.
core.register_action("drop_named_hop_by_hop", { "http-res" }, function(txn)
  local headers = txn.http:res_get_headers()
  for _, value in pairs(headers["connection"] or {}) do
    for token in string.gmatch(value, "[^,%s]+") do
      local name = string.lower(token)
      if name ~= "close" and name ~= "keep-alive" and name ~= "upgrade" then txn.http:res_del_header(name) end
    end
  end
  txn.http:res_del_header("connection")
end)
`;
