/**
 * Simulated time for the local runner. AWS's timings (retry intervals, visibility timeouts, backoff, Express's
 * 5-minute limit, Lambda timeouts) are honoured in *simulated* milliseconds; `timeScale` says how many real
 * milliseconds one simulated millisecond takes (0.001 turns 30 s into 30 ms), so bursts and outages run in seconds.
 */
export class ScaledClock {
  private readonly realStart = Date.now();

  /** @param timeScale real ms per simulated ms, greater than 0 (1 is real time) */
  constructor(public readonly timeScale = 1, private readonly simulatedStart = Date.now()) {
    if (!(timeScale > 0)) throw new Error(`timeScale must be greater than 0, got ${timeScale}`);
  }

  /** Simulated epoch milliseconds. */
  public now(): number {
    return this.simulatedStart + (Date.now() - this.realStart) / this.timeScale;
  }

  /**
   * The clock as the library's handlers read it from `ICS_LOCAL_CLOCK` (src/handlers/circuit-breaker.ts):
   * `<real epoch ms>:<simulated epoch ms>:<timeScale>`, so their waits and timestamps run on this simulated time.
   */
  public handlerEnv(): string {
    return `${this.realStart}:${this.simulatedStart}:${this.timeScale}`;
  }

  /** Real milliseconds a simulated duration takes. */
  public real(simulatedMs: number): number {
    return simulatedMs * this.timeScale;
  }

  /** Resolves after `simulatedMs` of simulated time. */
  public sleep(simulatedMs: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, Math.max(0, this.real(simulatedMs))));
  }

  /** A timer that fires after `simulatedMs` of simulated time. */
  public setTimeout(fn: () => void, simulatedMs: number): NodeJS.Timeout {
    return setTimeout(fn, Math.max(0, this.real(simulatedMs)));
  }
}
