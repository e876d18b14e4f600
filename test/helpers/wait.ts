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

/**
 * Waits until `probe` gives a value (anything but undefined, null or false) and returns it, asking every
 * `intervalMs`; fails naming `what` after `timeoutMs`.
 */
export async function untilValue<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 20_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
