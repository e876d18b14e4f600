/** One transport port: `25/tcp`. */
export interface PortRule {
  port: number;
  protocol: 'tcp' | 'udp';
}

/**
 * Parses `25/tcp, 465/tcp, 5060/tcp, 5060/udp` (or `none` for an empty list). A bare number means TCP.
 * Null when any entry is malformed, so a typo is a start-up error rather than an open port.
 */
export function parsePortList(text: string): PortRule[] | null {
  if (text.trim().toLowerCase() === 'none') return [];
  const rules: PortRule[] = [];
  for (const entry of text.split(',')) {
    const match = /^(\d{1,5})(?:\/(tcp|udp))?$/i.exec(entry.trim());
    const port = Number(match?.[1]);
    if (!match || port < 1 || port > 65535) return null;
    const protocol = (match[2]?.toLowerCase() ?? 'tcp') as PortRule['protocol'];
    if (!rules.some((r) => r.port === port && r.protocol === protocol)) rules.push({ port, protocol });
  }
  return rules;
}
