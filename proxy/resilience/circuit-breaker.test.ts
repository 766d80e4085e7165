import { describe, expect, it } from 'vitest';
import { CircuitBreaker, type CircuitState } from './circuit-breaker.ts';

function breaker() {
  let now = 0;
  const changes: CircuitState[] = [];
  const circuit = new CircuitBreaker({ failures: 3, resetMs: 1000, now: () => now, onChange: (state) => changes.push(state) });
  return { circuit, changes, advance: (ms: number) => (now += ms) };
}

describe('CircuitBreaker', () => {
  it('opens after consecutive failures only; a success in between resets the count', () => {
    const { circuit } = breaker();
    circuit.failed();
    circuit.failed();
    circuit.succeeded();
    circuit.failed();
    circuit.failed();
    expect(circuit.state).toBe('closed');
    circuit.failed();
    expect(circuit.state).toBe('open');
    expect(circuit.tryAcquire()).toBe(false);
  });

  it('after resetMs lets one probe through; its success closes the circuit', () => {
    const { circuit, changes, advance } = breaker();
    for (let index = 0; index < 3; index += 1) circuit.failed();
    advance(999);
    expect(circuit.tryAcquire()).toBe(false);
    advance(1);
    expect(circuit.tryAcquire()).toBe(true);
    expect(circuit.state).toBe('half-open');
    expect(circuit.tryAcquire()).toBe(false);
    circuit.succeeded();
    expect(circuit.state).toBe('closed');
    expect(changes).toEqual(['open', 'half-open', 'closed']);
  });

  it('a failed probe opens it again for another resetMs; an abandoned probe frees the slot', () => {
    const { circuit, advance } = breaker();
    for (let index = 0; index < 3; index += 1) circuit.failed();
    advance(1000);
    expect(circuit.tryAcquire()).toBe(true);
    circuit.abandoned();
    expect(circuit.tryAcquire()).toBe(true);
    circuit.failed();
    expect(circuit.state).toBe('open');
    advance(500);
    expect(circuit.tryAcquire()).toBe(false);
  });
});
