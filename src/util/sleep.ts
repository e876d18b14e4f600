/**
 * Resolves after `ms`. A `background` sleep does not keep the process alive: a retry pending at shutdown
 * must not delay the exit.
 */
export function sleep(ms: number, options: { background?: boolean } = {}): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    if (options.background === true) timer.unref();
  });
}
