import { createRequire } from 'node:module';

const requireHere = createRequire(import.meta.url);

export interface IlpPrepare {
  amount: string;
  destination: string;
  expiresAt: Date;
}

/** The parts of ilp-packet codiusd uses. */
export interface IlpPacketModule {
  Type: { TYPE_ILP_PREPARE: number; TYPE_ILP_FULFILL: number; TYPE_ILP_REJECT: number };
  deserializeIlpPacket(buffer: Buffer): { type: number; data: unknown };
  deserializeIlpPrepare(buffer: Buffer): IlpPrepare;
  serializeIlpReject(reject: { code: string; message: string; triggeredBy: string; data: Buffer }): Buffer;
}

/** ilp-packet, loaded when first needed (a host without payments or pods never needs it). */
export function loadIlpPacket(): IlpPacketModule {
  return requireHere('ilp-packet') as IlpPacketModule;
}
