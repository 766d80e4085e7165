/**
 * One circuit breaker per upstream. Closed: requests flow, consecutive failures are counted.
 * After `failures` in a row it opens: requests are refused at once (503, or fallback) instead of
 * piling up on a dead service. After `resetMs` it lets exactly one probe through (half-open):
 * success closes it, failure opens it again for another `resetMs`.
 *
 * Every `tryAcquire()` that returns true must be settled exactly once with `succeeded()`,
 * `failed()` or `abandoned()` (client went away: no verdict, but the probe slot is freed).
 */
export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  readonly failures: number;
  readonly resetMs: number;
  readonly now?: () => number;
  readonly onChange?: (state: CircuitState) => void;
}

export class CircuitBreaker {
  #state: CircuitState = 'closed';
  #consecutiveFailures = 0;
  #openedAt = 0;
  #probeInFlight = false;
  readonly #options: CircuitBreakerOptions;
  readonly #now: () => number;

  constructor(options: CircuitBreakerOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  get state(): CircuitState {
    return this.#state;
  }

  /** True when a request may go to the upstream now. */
  tryAcquire(): boolean {
    if (this.#state === 'closed') return true;
    if (this.#state === 'open') {
      if (this.#now() - this.#openedAt < this.#options.resetMs) return false;
      this.#transition('half-open');
    }
    if (this.#probeInFlight) return false;
    this.#probeInFlight = true;
    return true;
  }

  succeeded(): void {
    this.#probeInFlight = false;
    this.#consecutiveFailures = 0;
    if (this.#state !== 'closed') this.#transition('closed');
  }

  failed(): void {
    this.#probeInFlight = false;
    this.#consecutiveFailures += 1;
    if (this.#state === 'half-open' || (this.#state === 'closed' && this.#consecutiveFailures >= this.#options.failures)) {
      this.#openedAt = this.#now();
      this.#transition('open');
    }
  }

  abandoned(): void {
    this.#probeInFlight = false;
  }

  #transition(state: CircuitState): void {
    this.#state = state;
    this.#options.onChange?.(state);
  }
}
