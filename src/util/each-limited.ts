/**
 * Calls `work` for every item with at most `limit` calls in flight, in the items' order, and resolves when
 * all have settled. `work` must not throw (a rejection stops nothing and is rethrown at the end);
 * `keepGoing` is asked before each item, so a stop takes effect without waiting for the rest.
 */
export async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<unknown>,
  keepGoing: () => boolean = () => true,
): Promise<void> {
  let next = 0;
  const errors: unknown[] = [];
  const worker = async (): Promise<void> => {
    while (next < items.length && keepGoing()) {
      const item = items[next] as T;
      next += 1;
      try {
        await work(item);
      } catch (error) {
        errors.push(error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (errors.length > 0) throw errors[0];
}
