/**
 * Runs operations on the same key one after another. A VM's power and snapshot operations each
 * take several docker calls; interleaving two of them (a stop in the middle of a start) would
 * leave the container in a state neither asked for.
 */
export interface KeyedSerial<K> {
  run<T>(key: K, op: () => Promise<T>): Promise<T>;
}

export function createKeyedSerial<K>(): KeyedSerial<K> {
  const tails = new Map<K, Promise<unknown>>();
  return {
    run(key, op) {
      const previous = tails.get(key) ?? Promise.resolve();
      const result = previous.then(op, op);
      const tail = result.catch(() => undefined);
      tails.set(key, tail);
      void tail.then(() => {
        if (tails.get(key) === tail) tails.delete(key);
      });
      return result;
    },
  };
}
