import { isCodiusError, type CodiusError } from '../domain/errors.js';
import type { ManifestHash, PodRequest } from '../domain/types.js';
import type { PaymentAttempt } from '../payments/billing.js';
import type { PodAnswer, UploadService } from '../uploads/upload-service.js';

/** What the tenant pays for: a new pod, or more time for one. */
export type CheckoutPod = { kind: 'upload'; request: PodRequest } | { kind: 'extend'; hash: ManifestHash };

/** The host's Open Payments offer in a 402, if it made one. */
export function incomingPaymentOf(error: CodiusError): { url: string; expiresAt: number } | undefined {
  if (!isCodiusError(error, 'payment_required')) return undefined;
  for (const offer of error.details.offers) {
    const open = offer.body?.openPayments as { incomingPayment?: string; expiresAt?: string } | undefined;
    if (open?.incomingPayment)
      return { url: open.incomingPayment, expiresAt: Date.parse(open.expiresAt ?? '') };
  }
  return undefined;
}

/** Runs an upload or extension through the upload service with its own pay token. */
export async function runPod(
  uploads: Pick<UploadService, 'upload' | 'extend'>,
  run: { pod: CheckoutPod; durationSeconds: number; token: Buffer; client: string; key: string },
): Promise<PodAnswer> {
  const after: Array<() => void> = [];
  const attempt: PaymentAttempt = {
    hasToken: () => true,
    token: () => run.token,
    client: run.client,
    afterResponse: (done) => after.push(done),
  };
  try {
    return run.pod.kind === 'upload'
      ? await uploads.upload(run.pod.request, run.durationSeconds, attempt, run.key)
      : await uploads.extend(run.pod.hash, run.durationSeconds, attempt);
  } finally {
    for (const done of after.splice(0)) done();
  }
}
