import { createRequire } from 'node:module';
import type { IlpPlugin } from './plugin.js';

const requireHere = createRequire(import.meta.url);

/**
 * A packet arriving with less time than this before it expires is refused. Its amount would be written
 * to the store before the fulfillment goes back; a fulfillment that reaches the provider after the
 * packet expired is refused there, so money would be counted that never arrived.
 */
export const MIN_FULFILL_WINDOW_MS = 1_000;

interface IlpPacketModule {
  Type: { TYPE_ILP_PREPARE: number };
  deserializeIlpPrepare(buffer: Buffer): { expiresAt: Date };
  serializeIlpReject(reject: { code: string; message: string; triggeredBy: string; data: Buffer }): Buffer;
}

/**
 * Makes every data handler later registered on `plugin` refuse (R02, insufficient timeout) prepares that
 * arrive with less than `minMs` left before they expire; everything else reaches the handler unchanged.
 */
export function refuseLatePrepares(
  plugin: IlpPlugin,
  minMs = MIN_FULFILL_WINDOW_MS,
  now: () => number = Date.now,
): void {
  const IlpPacket = requireHere('ilp-packet') as IlpPacketModule;
  const register = plugin.registerDataHandler.bind(plugin);
  plugin.registerDataHandler = (handler) => {
    register(async (data) => {
      if (data[0] === IlpPacket.Type.TYPE_ILP_PREPARE) {
        const left = IlpPacket.deserializeIlpPrepare(data).expiresAt.getTime() - now();
        if (left < minMs) {
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
