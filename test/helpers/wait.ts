/** Waits until `check` holds, asking every `intervalMs`; fails naming `what` after `timeoutMs`. */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
  intervalMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * Waits until the host at `url` accepts uploads: its ILP link connects in the background once it
 * listens, and uploads are refused until it has (and until its runtime is reconciled).
 */
export function untilAcceptingUploads(url: string, timeoutMs = 20_000): Promise<void> {
  return until(
    'the host accepts uploads',
    async () => {
      const info = (await (await fetch(`${url}/info`)).json()) as { acceptingUploads?: boolean };
      return info.acceptingUploads === true;
    },
    timeoutMs,
  );
}
