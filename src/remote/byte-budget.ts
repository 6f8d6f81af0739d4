/**
 * A byte semaphore: callers take a number of bytes, waiting in arrival order until that many are
 * free, and give them back when done. The bucket holds upload bodies in memory under one: without
 * it, 16 transfers of 16 MiB files hold 256 MiB, and 16 multipart uploads with four 8 MiB parts
 * each 512 MiB — more than many Fargate tasks have.
 */
export class ByteBudget {
  #free: number;
  readonly #waiting: { readonly bytes: number; readonly grant: () => void }[] = [];

  constructor(readonly capacity: number) {
    if (!(capacity > 0)) throw new RangeError(`ByteBudget: capacity must be positive, got ${capacity}`);
    this.#free = capacity;
  }

  /** Bytes not taken right now. */
  get free(): number {
    return this.#free;
  }

  /**
   * Waits until `bytes` are free (a request above the capacity takes all of it), takes them and
   * resolves the function that gives them back (once; later calls do nothing). An abort of
   * `signal` while waiting rejects with its reason, and nothing is taken.
   */
  async take(bytes: number, signal?: AbortSignal): Promise<() => void> {
    if (!Number.isFinite(bytes) || bytes < 0) throw new RangeError(`ByteBudget: cannot take ${bytes} bytes`);
    signal?.throwIfAborted();
    const amount = Math.min(bytes, this.capacity);
    if (this.#waiting.length === 0 && amount <= this.#free) {
      this.#free -= amount;
    } else {
      // First come, first served: a large body is not starved by a stream of small ones.
      await new Promise<void>((grant, reject) => {
        const waiter = {
          bytes: amount,
          grant: () => {
            signal?.removeEventListener('abort', abandon);
            grant();
          },
        };
        const abandon = (): void => {
          this.#waiting.splice(this.#waiting.indexOf(waiter), 1);
          // The next in line may fit now that this one no longer blocks the queue.
          this.#grantWaiting();
          reject(signal?.reason);
        };
        signal?.addEventListener('abort', abandon, { once: true });
        this.#waiting.push(waiter);
      });
    }
    let given = false;
    return () => {
      if (given) return;
      given = true;
      this.#free += amount;
      this.#grantWaiting();
    };
  }

  #grantWaiting(): void {
    for (let next = this.#waiting[0]; next !== undefined && next.bytes <= this.#free; next = this.#waiting[0]) {
      this.#waiting.shift();
      this.#free -= next.bytes;
      next.grant();
    }
  }
}
