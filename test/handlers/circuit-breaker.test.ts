import {
  CIRCUIT_DEFAULTS, CircuitConfig, circuitFromItem, circuitRequests, CLOSED, failureMember, handlerClock, HOLD_POLL_MS, holdDecision,
  LOCAL_CLOCK_ENV, readCircuitConfig, shouldOpen,
} from '../../src/handlers/circuit-breaker';

const config: CircuitConfig = {
  enabled: true, failureThreshold: 3, failureWindowMs: 300_000, probeIntervalMs: 30_000, maxHoldMs: 3 * 3_600_000,
};
const open = { open: true, failing: 0, distinct: 0, openedAt: 1_000_000, nextProbeAt: 1_030_000 };
const context = { now: 1_010_000, sentAt: 1_000_000, lastAttempt: false, remainingMs: 800_000, runMs: 310_000 };

describe('settings', () => {
  test('defaults when unset; every bad value named in one list', () => {
    const problems: string[] = [];
    expect(readCircuitConfig({}, problems)).toEqual({
      enabled: true,
      failureThreshold: CIRCUIT_DEFAULTS.failureThreshold,
      failureWindowMs: CIRCUIT_DEFAULTS.failureWindowSeconds * 1000,
      probeIntervalMs: CIRCUIT_DEFAULTS.probeIntervalSeconds * 1000,
      maxHoldMs: CIRCUIT_DEFAULTS.maxHoldSeconds * 1000,
    });
    expect(problems).toEqual([]);
    readCircuitConfig({ ICS_CIRCUIT_FAILURE_THRESHOLD: '0', ICS_CIRCUIT_PROBE_INTERVAL_SECONDS: 'soon' }, problems);
    expect(problems).toEqual([
      'ICS_CIRCUIT_FAILURE_THRESHOLD must be a positive integer, got "0"',
      'ICS_CIRCUIT_PROBE_INTERVAL_SECONDS must be a positive integer, got "soon"',
    ]);
    expect(readCircuitConfig({ ICS_CIRCUIT_ENABLED: 'false' }, []).enabled).toBe(false);
  });
});

describe('the breaker item', () => {
  test('no item is a closed breaker without failures', () => {
    expect(circuitFromItem(undefined)).toEqual(CLOSED);
  });

  test('closed: failures and the different uploads among them; open: when it opened and the next probe', () => {
    expect(circuitFromItem({ state: { S: 'closed' }, failures: { N: '4' }, failing: { SS: ['a', 'b'] } })).toEqual({ open: false, failing: 4, distinct: 2 });
    expect(circuitFromItem({ state: { S: 'open' }, openedAt: { N: '5' }, nextProbeAt: { N: '9' } })).toEqual({ open: true, failing: 0, distinct: 0, openedAt: 5, nextProbeAt: 9 });
  });

  test('opens at the threshold of failures, and only across two uploads or more', () => {
    expect(shouldOpen({ open: false, failing: 3, distinct: 2 }, config)).toBe(true);
    expect(shouldOpen({ open: false, failing: 2, distinct: 2 }, config)).toBe(false);
    expect(shouldOpen({ open: false, failing: 9, distinct: 1 }, config)).toBe(false); // one image, failing again and again
    expect(shouldOpen({ ...open }, config)).toBe(false);
  });

  test('an upload has one short member whatever its key; a new version is another upload', () => {
    const a = failureMember({ bucket: 'b', key: 'k'.repeat(1024), versionId: 'v1' });
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(failureMember({ bucket: 'b', key: 'k'.repeat(1024), versionId: 'v1' })).toBe(a);
    expect(failureMember({ bucket: 'b', key: 'k'.repeat(1024), versionId: 'v2' })).not.toBe(a);
  });

  test('the requests are conditional: the lease only when due, the opening only at the threshold, the reset only when needed', () => {
    expect(circuitRequests.takeProbe('t', 5, 30_000)).toMatchObject({
      ConditionExpression: '#state = :open AND nextProbeAt <= :now',
      ExpressionAttributeValues: { ':now': { N: '5' }, ':next': { N: '30005' } },
    });
    expect(circuitRequests.open('t', 3, 0, 30_000).ConditionExpression).toContain('failures >= :k AND size(failing) >= :distinct');
    expect(circuitRequests.succeed('t', 0).ConditionExpression).toBe('#state = :open OR attribute_exists(failing)');
    expect(circuitRequests.startFailures('t', 'm', 400_000, 300_000).ExpressionAttributeValues[':stale']).toEqual({ N: '100000' });
  });
});

describe('holding a message while the breaker is open', () => {
  test('closed: run', () => {
    expect(holdDecision(CLOSED, config, context)).toEqual({ action: 'run', reason: 'closed' });
  });

  test('open: wait for the probe (reading the breaker every few seconds), then try to probe', () => {
    expect(holdDecision(open, config, context)).toEqual({ action: 'wait', ms: HOLD_POLL_MS });
    expect(holdDecision(open, config, { ...context, now: 1_028_000 })).toEqual({ action: 'wait', ms: 2_000 });
    expect(holdDecision(open, config, { ...context, now: 1_030_000 })).toEqual({ action: 'probe' });
  });

  test('bounded: the last receive runs, an upload held past maxHold runs, an invocation short of time gives it back', () => {
    expect(holdDecision(open, config, { ...context, lastAttempt: true })).toEqual({ action: 'run', reason: 'last-attempt' });
    expect(holdDecision(open, config, { ...context, now: 1_000_000 + config.maxHoldMs + 1 })).toEqual({ action: 'run', reason: 'held-too-long' });
    expect(holdDecision(open, config, { ...context, remainingMs: context.runMs + HOLD_POLL_MS - 1 })).toEqual({ action: 'release' });
    // Never waits past the time it needs to give the message back or run it.
    const step = holdDecision(open, config, { ...context, remainingMs: context.runMs + HOLD_POLL_MS + 1_000 });
    expect(step).toEqual({ action: 'wait', ms: 1_001 });
  });
});

describe('the handler clock', () => {
  test('real time on Lambda; the kit\'s simulated time when it sets ICS_LOCAL_CLOCK', async () => {
    const real = handlerClock({});
    expect(Math.abs(real.now() - Date.now())).toBeLessThan(50);
    const realStart = Date.now();
    const scaled = handlerClock({ [LOCAL_CLOCK_ENV]: `${realStart}:1000000:0.01` });
    const before = scaled.now();
    expect(before).toBeGreaterThanOrEqual(1_000_000);
    await scaled.sleep(2_000); // 20 real ms
    expect(scaled.now() - before).toBeGreaterThanOrEqual(1_500);
  });
});
