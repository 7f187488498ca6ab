import '../src/polyfills';
import { checkPayload, DataLimitExceededError, enforcePayloadLimit, payloadBytes, STATE_PAYLOAD_LIMIT_BYTES } from '../src/payload-limit';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { StateMachine } = require('aws-local-stepfunctions');

/** A JSON string value whose serialization (with its two quotes) is exactly `bytes` long. */
const jsonStringOf = (bytes: number) => 'x'.repeat(bytes - 2);

describe('payload size as Step Functions counts it', () => {
  test('UTF-8 bytes of the JSON text, escapes and multi-byte characters included', () => {
    expect(payloadBytes({ a: 1 })).toBe(7);
    expect(payloadBytes('é')).toBe(4); // "é": two quotes + two bytes
    expect(payloadBytes('🚲')).toBe(6); // four bytes in UTF-8
    expect(payloadBytes('a"b\n')).toBe(8); // "a\"b\n"
    expect(payloadBytes(null)).toBe(4);
    expect(payloadBytes(undefined)).toBe(4);
  });

  test('256 KiB exactly passes, one byte more is States.DataLimitExceeded', () => {
    expect(STATE_PAYLOAD_LIMIT_BYTES).toBe(262_144);
    expect(() => checkPayload('Serialize', 'result', jsonStringOf(262_144))).not.toThrow();
    expect(() => checkPayload('Serialize', 'result', jsonStringOf(262_145))).toThrow(DataLimitExceededError);
    const error = (() => {
      try {
        checkPayload('Serialize', 'result', jsonStringOf(262_145));
      } catch (e) {
        return e as DataLimitExceededError;
      }
      return undefined;
    })();
    expect(error).toMatchObject({ name: 'States.DataLimitExceeded', isRetryable: false, isCatchable: false });
    expect(error?.message).toMatch(/'Serialize' returned a result with a size exceeding .* \(262145 > 262144 bytes\)/);
  });
});

describe('enforcePayloadLimit on task handlers', () => {
  test('an oversized input fails before the task runs; an oversized result fails after', async () => {
    const calls: string[] = [];
    const handlers: Record<string, (input: any) => Promise<any>> = {
      Echo: async (input) => {
        calls.push('Echo');
        return input;
      },
      Grow: async () => {
        calls.push('Grow');
        return { image: 'x'.repeat(300_000) };
      },
    };
    enforcePayloadLimit(handlers);
    await expect(handlers.Echo({ big: 'x'.repeat(300_000) })).rejects.toMatchObject({ name: 'States.DataLimitExceeded' });
    expect(calls).toEqual([]);
    await expect(handlers.Grow({})).rejects.toThrow(/'Grow' returned a result/);
    expect(calls).toEqual(['Grow']);
    await expect(handlers.Echo({ small: 1 })).resolves.toEqual({ small: 1 });
  });

  test('deferred States.JsonToString values are measured as the string AWS would pass', async () => {
    // 130,000 quotes: about 260 KB as a value, but twice that once stringified (and escaped again as JSON).
    const value = '"'.repeat(130_000);
    const deferred = { Publish: async () => 'ok' };
    enforcePayloadLimit(deferred, { Publish: ['Message'] });
    await expect(deferred.Publish()).resolves.toBe('ok'); // nothing to measure but `null`
    const plain = { Publish: async () => 'ok' };
    enforcePayloadLimit(plain);
    await expect((plain.Publish as any)({ Message: value })).resolves.toBe('ok');
    await expect((deferred.Publish as any)({ Message: value })).rejects.toMatchObject({ name: 'States.DataLimitExceeded' });
  });

  test('in the interpreter the error is terminal: neither Retry nor Catch on States.ALL handle it', async () => {
    const attempts: number[] = [];
    const handlers: Record<string, (input: any) => Promise<any>> = {
      Serialize: async () => {
        attempts.push(1);
        return { image: 'A'.repeat(STATE_PAYLOAD_LIMIT_BYTES) };
      },
    };
    enforcePayloadLimit(handlers);
    const machine = new StateMachine({
      StartAt: 'Serialize',
      States: {
        Serialize: {
          Type: 'Task',
          Resource: 'arn:aws:lambda:us-east-1:123456789012:function:serialize',
          Retry: [{ ErrorEquals: ['States.ALL'], MaxAttempts: 3 }],
          Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Caught' }],
          End: true,
        },
        Caught: { Type: 'Pass', End: true },
      },
    }, { validationOptions: { checkArn: false } });
    const run = machine.run({}, { overrides: { taskResourceLocalHandlers: handlers, retryIntervalOverrides: { Serialize: 0 } } });
    await expect(run.result).rejects.toMatchObject({ cause: { name: 'States.DataLimitExceeded' } });
    expect(attempts).toHaveLength(1);
  });
});
