/**
 * One request's time limit, also ended by the caller's signal. It aborts the request's signal and, because an
 * abort handed to `fetch` can be lost (undici follows a signal through a weak reference, so after garbage
 * collection an abort may never reach a request whose server does not answer: nodejs/node#55428), it also
 * rejects whatever `race` waits on, so a silent server never holds a cycle past the limit. The timer holds the
 * controller strongly until `clear`.
 */
export class Deadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly onCallerAbort = () => this.controller.abort(this.caller?.reason);

  constructor(
    timeoutMs: number,
    private readonly caller: AbortSignal | undefined,
  ) {
    this.timer = setTimeout(
      () => this.controller.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError')),
      timeoutMs,
    );
    if (caller?.aborted) this.onCallerAbort();
    else caller?.addEventListener('abort', this.onCallerAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** `work`, or a rejection with the abort reason as soon as the deadline passes or the caller aborts. */
  race<T>(work: Promise<T>): Promise<T> {
    const { signal } = this.controller;
    if (signal.aborted) {
      // `work` was started all the same (a fetch given the aborted signal rejects): nobody else awaits it.
      work.catch(() => {});
      return Promise.reject(signal.reason);
    }
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  clear(): void {
    clearTimeout(this.timer);
    this.caller?.removeEventListener('abort', this.onCallerAbort);
  }
}
