import { loadIlpPacket } from './ilp-packet.js';
import type { IlpPlugin } from './plugin.js';

/**
 * A packet arriving with less time than this before it expires is refused. Its amount would be written
 * to the store before the fulfillment goes back; a fulfillment that reaches the provider after the
 * packet expired is refused there, so money would be counted that never arrived.
 */
export const MIN_FULFILL_WINDOW_MS = 1_000;

/**
 * Makes every data handler later registered on `plugin` refuse (R02, insufficient timeout) prepares that
 * arrive with less than `minMs` left before they expire; everything else reaches the handler unchanged.
 */
export function refuseLatePrepares(
  plugin: IlpPlugin,
  minMs = MIN_FULFILL_WINDOW_MS,
  now: () => number = Date.now,
): void {
  const IlpPacket = loadIlpPacket();
  const register = plugin.registerDataHandler.bind(plugin);
  const expiresIn = (data: Buffer): number | null => {
    try {
      return IlpPacket.deserializeIlpPrepare(data).expiresAt.getTime() - now();
    } catch {
      return null;
    }
  };
  plugin.registerDataHandler = (handler) => {
    register(async (data) => {
      if (data[0] === IlpPacket.Type.TYPE_ILP_PREPARE) {
        // A packet that does not parse is the handler's to refuse, as it would be without this check.
        const left = expiresIn(data);
        if (left !== null && left < minMs) {
          return IlpPacket.serializeIlpReject({
            code: 'R02',
            message: `the packet expires in ${Math.max(0, left)} ms; this receiver needs ${minMs} ms to book it`,
            triggeredBy: '',
            data: Buffer.alloc(0),
          });
        }
      }
      return handler(data);
    });
  };
}
