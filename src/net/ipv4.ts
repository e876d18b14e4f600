/** IPv4 address arithmetic for subnets the host configures; no I/O. */

export interface Ipv4Cidr {
  /** Network address as an unsigned 32-bit integer (host bits cleared). */
  network: number;
  prefix: number;
}

/** Parses dotted-quad IPv4; null when malformed (no leading zeros, each octet 0-255). */
export function parseIpv4(text: string): number | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return null;
    const octet = Number(part);
    if (octet > 255) return null;
    value = value * 256 + octet;
  }
  return value;
}

export function formatIpv4(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join('.');
}

/** Parses `a.b.c.d/n` with n in [8, 28] (room for a gateway and pods); host bits must be zero. */
export function parseIpv4Cidr(text: string): Ipv4Cidr | null {
  const match = /^([\d.]+)\/(\d{1,2})$/.exec(text);
  if (!match) return null;
  const address = parseIpv4(match[1] ?? '');
  const prefix = Number(match[2]);
  if (address === null || prefix < 8 || prefix > 28) return null;
  const size = 2 ** (32 - prefix);
  if (address % size !== 0) return null;
  return { network: address, prefix };
}

/** The first usable address of a subnet, used as the bridge's gateway. */
export function gatewayOf(cidr: Ipv4Cidr): string {
  return formatIpv4(cidr.network + 1);
}
