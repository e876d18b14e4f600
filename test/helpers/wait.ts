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
 * Waits until the host at `url` accepts uploads and has been through its pods once: its ILP link connects
 * in the background once it listens, uploads are refused until it has (and while its runtime does not
 * answer), and pods it recovers at start come back during its first reconcile pass.
 */
export function untilAcceptingUploads(url: string, timeoutMs = 20_000): Promise<void> {
  return until(
    'the host accepts uploads and has reconciled its pods',
    async () => {
      const info = (await (await fetch(`${url}/info`)).json()) as {
        acceptingUploads?: boolean;
        podsReconciled?: boolean;
      };
      return info.acceptingUploads === true && info.podsReconciled === true;
    },
    timeoutMs,
  );
}

/** Waits until the host at `url` has been through its pods once since it started (GET /info says so). */
export function untilPodsReconciled(url: string, timeoutMs = 20_000): Promise<void> {
  return until(
    'the host has reconciled its pods',
    async () => {
      const info = (await (await fetch(`${url}/info`)).json()) as { podsReconciled?: boolean };
      return info.podsReconciled === true;
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
