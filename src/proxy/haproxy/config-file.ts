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
  /** HAProxy's threads (nbthread). */
  threads: number;
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
 * the request to codiusd, which walks the whole list. Without trusted proxies the client is the peer, read
 * where it is counted (clientKey): no rule runs for it here.
 */
function clientRules(settings: HaproxySettings): string[] {
  const trusted = settings.trustedProxies.map(cidr).join(' ');
  if (!trusted) return [];
  const rules = ['  http-request set-var(txn.client) src,ipmask(32,64) if !to_codiusd'];
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

/**
 * The key a client's share of a pod is counted under in a pod backend's table: the client (clientRules),
 * a space, then the pod's host name. Keys start with at most 39 characters of address and the host name
 * starts with the 52-character hash, so the table's 160 characters always hold what tells keys apart.
 */
function clientKey(settings: HaproxySettings): string {
  const client = settings.trustedProxies.length > 0 ? 'var(txn.client)' : 'src,ipmask(32,64)';
  return `${client},concat(' ',txn.podhost)`;
}

/** The pod's hash in error messages: the first label of the routed host name. */
const HASH = '%[var(txn.podhost),field(1,.)]';

function frontend(settings: HaproxySettings): string[] {
  const { paths } = settings;
  const tls = paths.crtList ? ` ssl crt-list ${paths.crtList} alpn h2,http/1.1` : '';
  return [
    'frontend public',
    `  bind ${settings.bindIp.includes(':') ? `[${settings.bindIp}]` : settings.bindIp}:${settings.port}${tls}`,
    `  maxconn ${settings.maxConnections}`,
    trustedAcl(settings),
    // The pod a Host names: any case, any port, a trailing dot allowed (the regex runs only for a name
    // that ends with one).
    '  http-request set-var(txn.podhost) req.hdr(host),field(1,:),lower',
    "  http-request set-var(txn.podhost) var(txn.podhost),regsub('\\.$','') if { var(txn.podhost) -m end . }",
    `  http-request set-var(txn.route) var(txn.podhost),map(${paths.routes})`,
    '  acl is_pod var(txn.route) -m found',
    // Requests a header rule cannot forward exactly go to codiusd, which proxies them itself: headers
    // named by Connection (hop-by-hop by declaration), several X-Forwarded-For lines to join.
    '  acl named_hop_by_hop req.hdr(connection) -m reg -i ^(?!(keep-alive|close|upgrade)$)',
    '  acl several_forwarded_for req.fhdr_cnt(x-forwarded-for) gt 1',
    '  acl to_codiusd var(txn.to_codiusd) -m bool',
    '  http-request set-var(txn.to_codiusd) bool(true) if !is_pod or named_hop_by_hop or several_forwarded_for',
    ...clientRules(settings),
    '  acl is_upgrade req.hdr(connection) -m sub -i upgrade',
    '  acl is_upgrade_too req.hdr(upgrade) -m found',
    '  use_backend codiusd if to_codiusd',
    '  use_backend pod_sockets if is_upgrade is_upgrade_too',
    '  default_backend pods',
    '',
  ];
}

/**
 * The bounds of a pod backend, counted in its own table while each request (or WebSocket) lasts: per pod
 * twice CODIUS_PROXY_MAX_CONNECTIONS requests or that many WebSockets, a quarter of it per client. Refused
 * before any connection to the pod, so no server is assigned (the 502 rule below leaves them alone).
 */
function limitRules(settings: HaproxySettings, upgrade: boolean): string[] {
  const max = settings.maxConnectionsPerPod;
  const table = upgrade ? 'open_sockets' : 'requests_in_flight';
  const track = [
    `  http-request track-sc0 var(txn.podhost) table ${table}`,
    `  http-request track-sc1 ${clientKey(settings)} table ${table}`,
  ];
  if (upgrade) {
    const socketShare = Math.max(1, Math.floor(max / 4));
    return [
      ...track,
      `  http-request deny deny_status 503 ${jsonError(503, 'Service Unavailable', `pod ${HASH} has too many open WebSocket connections; try again later`)} if { sc0_conn_cur gt ${max} }`,
      `  http-request deny deny_status 429 ${jsonError(429, 'Too Many Requests', `too many WebSocket connections from this client to pod ${HASH}`)} if { sc1_conn_cur gt ${socketShare} }`,
    ];
  }
  const requestShare = Math.max(1, Math.floor((2 * max) / 4));
  return [
    ...track,
    `  http-request deny deny_status 503 ${jsonError(503, 'Service Unavailable', `pod ${HASH} has too many requests in progress; try again shortly`)} hdr Retry-After 1 if { sc0_conn_cur gt ${2 * max} }`,
    `  http-request deny deny_status 429 ${jsonError(429, 'Too Many Requests', `too many requests from this client to pod ${HASH} at once; try again shortly`)} hdr Retry-After 1 if { sc1_conn_cur gt ${requestShare} }`,
  ];
}

/** A regex matching exactly the given header names (HAProxy keeps names in lower case). */
const namesRegex = (names: readonly string[]): string => `^(?:${names.join('|')})$`;

/** Headers a client claims about itself, which only a trusted proxy may pass on. */
const CLIENT_CLAIMS = ['forwarded', 'x-real-ip', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host'];

/**
 * X-Forwarded-* as codiusd's own proxy sets them, without hop-by-hop headers. Each header list is removed
 * in one pass; what a request keeps from a trusted proxy is read by rules that exist only when proxies
 * are trusted. X-Forwarded-For is added by `option forwardfor if-none` after these rules: the peer, when
 * no X-Forwarded-For is left.
 */
function forwardingRules(settings: HaproxySettings, upgrade: boolean): string[] {
  const hopByHop = upgrade ? HOP_BY_HOP : [...HOP_BY_HOP, 'upgrade'];
  const proto = settings.paths.tlsBundle ? '%[ssl_fc,iif(https,http)]' : 'http';
  const trusted = settings.trustedProxies.length > 0;
  const direct = trusted ? ' unless from_trusted' : '';
  const rules = [
    `  http-request del-header ${namesRegex([...hopByHop, ...CLIENT_CLAIMS])} -m reg${direct}`,
    `  http-request add-header x-forwarded-proto ${proto}${direct}`,
    `  http-request add-header x-forwarded-host %[req.hdr(host)]${direct}`,
  ];
  if (!trusted) return rules;
  return [
    ...rules,
    `  http-request del-header ${namesRegex(hopByHop)} -m reg if from_trusted`,
    '  http-request set-header x-forwarded-for "%[req.fhdr(x-forwarded-for)], %[src]" if from_trusted { req.hdr(x-forwarded-for) -m found }',
    `  http-request add-header x-forwarded-proto ${settings.publicProto} if from_trusted !{ req.hdr(x-forwarded-proto) -m found }`,
    '  http-request add-header x-forwarded-host %[req.hdr(host)] if from_trusted !{ req.hdr(x-forwarded-host) -m found }',
  ];
}

/** What every request to a pod gets: its address, the limits, X-Forwarded-*, no hop-by-hop headers either way. */
function podBackend(name: string, settings: HaproxySettings, upgrade: boolean): string[] {
  return [
    `backend ${name}`,
    trustedAcl(settings),
    '  option forwardfor if-none',
    ...limitRules(settings, upgrade),
    '  http-request set-dst var(txn.route),field(1,/)',
    '  http-request set-dst-port var(txn.route),field(2,/)',
    ...forwardingRules(settings, upgrade),
    // Marks a 503 that came from the pod, so only HAProxy's own are turned into 502s below.
    '  http-response set-var(txn.from_pod) bool(true) if { status 503 }',
    // Lua only for a Connection header that names other headers: HAProxy itself handles keep-alive and
    // close, which nearly every response carries, and Lua is far slower than a header rule.
    '  http-response lua.drop_named_hop_by_hop if { res.hdr(connection) -m reg -i ^(?!(keep-alive|close|upgrade)$) } !{ status 101 }',
    `  http-response del-header ${namesRegex(HOP_BY_HOP)} -m reg`,
    `  http-error status 503 ${jsonError(502, 'Bad Gateway', `pod ${HASH} refused the connection on port %[var(txn.route),field(2,/)]`)}`,
    `  http-error status 504 ${jsonError(504, 'Gateway Timeout', `pod ${HASH} did not answer in time`)}`,
    // HAProxy says 503 when it cannot connect to the pod (a server was assigned, no answer came); codiusd's
    // proxy says 502. The limits' 503s are refused before a server is assigned and stay 503s.
    '  http-after-response set-status 502 if { status 503 } !{ var(txn.from_pod) -m bool } { srv_id -m found }',
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
    `  nbthread ${settings.threads}`,
    `  stats socket ${paths.socket} mode 600 level admin`,
    `  lua-load ${paths.lua}`,
    '  log stderr format raw local0 err',
    `  hard-stop-after ${seconds(settings.shutdownTimeoutMs)}`,
    '',
    'defaults',
    '  mode http',
    // No line per connection or request: HAProxy would build each one only for the global log's level
    // filter (errors) to drop it. Its alerts and warnings still reach codiusd's log.
    '  no log',
    `  timeout connect ${seconds(Math.min(settings.timeoutMs, 10_000))}`,
    `  timeout server ${seconds(settings.timeoutMs)}`,
    `  timeout tunnel ${seconds(settings.timeoutMs)}`,
    '  timeout client 65s',
    '  timeout http-request 20s',
    '  timeout http-keep-alive 65s',
    '  retries 0',
    '',
    ...frontend(settings),
    // Requests in flight and open WebSockets, per pod (its host name) and per client of a pod (clientKey).
    'backend requests_in_flight',
    '  stick-table type string len 160 size 1m expire 1h store conn_cur',
    '',
    'backend open_sockets',
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
