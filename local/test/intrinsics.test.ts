import '../src/polyfills';
import { createHash } from 'node:crypto';
import { StateMachine } from 'aws-local-stepfunctions';
import { applyHashes, compatDefinition, HASH_PASS_RESOURCE } from '../src/interpreter-compat';

/**
 * States.Hash as AWS computes it (the hex digest of the UTF-8 string): the interpreter's own SHA-256 is wrong from 56
 * bytes on, so the runner rewrites hashing Pass states into a task that hashes with node:crypto.
 */
describe('States.Hash in the local runner', () => {
  const definition = {
    StartAt: 'Id',
    States: {
      Id: {
        Type: 'Pass',
        Parameters: { 'id.$': "States.Hash(States.Format('{}/{}@', $.bucket, $.key), 'SHA-256')", 'nested': { 'md5.$': "States.Hash($.key, 'MD5')" } },
        ResultPath: '$.review',
        End: true,
      },
    },
  };

  test('the interpreter alone gets SHA-256 wrong for long strings (why the rewrite exists)', async () => {
    const s = 'x'.repeat(80);
    const machine = new StateMachine({ StartAt: 'P', States: { P: { Type: 'Pass', Parameters: { 'h.$': "States.Hash($.s, 'SHA-256')" }, End: true } } });
    const out: any = await machine.run({ s }).result;
    expect(out.h).not.toBe(createHash('sha256').update(s).digest('hex'));
  });

  test('a hashing Pass state becomes a runner task whose output is the real digest, for short and long keys', async () => {
    const { definition: rewritten, hashes } = compatDefinition(definition);
    expect(rewritten.States.Id).toMatchObject({ Type: 'Task', Resource: HASH_PASS_RESOURCE, ResultPath: '$.review', End: true });
    expect(rewritten.States.Id.Parameters['id.$']).toBe("States.Format('{}/{}@', $.bucket, $.key)");
    const machine = new StateMachine(rewritten, { validationOptions: { noValidate: true } });
    for (const key of ['a.jpg', `uploads/${'camera/'.repeat(20)}frame-0001.jpg`, 'ünïcödé/画像.png']) {
      const out: any = await machine.run({ bucket: 'b', key }, {
        overrides: { taskResourceLocalHandlers: { Id: async (params: any) => applyHashes(params, hashes.Id) } },
      }).result;
      expect(out.review).toEqual({
        id: createHash('sha256').update(`b/${key}@`, 'utf8').digest('hex'),
        nested: { md5: createHash('md5').update(key, 'utf8').digest('hex') },
      });
    }
  });

  test('a value that is not a string fails as AWS does (States.IntrinsicFailure)', () => {
    expect(() => applyHashes({ id: 42 }, [{ path: 'id', algorithm: 'SHA-256' }])).toThrow(expect.objectContaining({ name: 'States.IntrinsicFailure' }));
  });
});
