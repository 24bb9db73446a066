/** Serialises the snapshot and audit writes of one connection, in transition order; the first failure sticks. */
export class PersistQueue {
  private tail: Promise<void> = Promise.resolve();
  private failure: unknown = null;

  push(write: () => Promise<void>): void {
    this.tail = this.tail.then(async () => {
      if (this.failure !== null) return;
      try {
        await write();
      } catch (error) {
        this.failure = error;
      }
    });
  }

  async flush(): Promise<void> {
    await this.tail;
    if (this.failure !== null) throw this.failure;
  }
}
