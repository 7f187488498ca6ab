import {
  DescribeExecutionCommand,
  InvalidExecutionInput,
  SFNClient,
  StartExecutionCommand,
  StartSyncExecutionCommand,
  StateMachineDoesNotExist,
} from '@aws-sdk/client-sfn';
import { ScaledClock } from '../../src/clock';
import { ExecutionRequest, ExecutionResult, SfnError, StepFunctionsPeer, startStepFunctions } from '../../src/peers/stepfunctions';

const EXPRESS = 'arn:aws:states:us-east-1:123456789012:stateMachine:PerImage';
const STANDARD = 'arn:aws:states:us-east-1:123456789012:stateMachine:Bulk';
const FAILING = 'arn:aws:states:us-east-1:123456789012:stateMachine:Failing';
const credentials = { accessKeyId: 'x', secretAccessKey: 'x' };

const clock = new ScaledClock(0.001);
const requests: ExecutionRequest[] = [];
let throttles = 0;
let peer: StepFunctionsPeer;
let sfn: SFNClient;

/** A stand-in for the runner's interpreter: echoes the input after 1.25 s (or `slow`: 2 min) of simulated time. */
async function startSync(req: ExecutionRequest): Promise<ExecutionResult> {
  requests.push(req);
  const startDate = clock.now();
  if (req.stateMachineArn === FAILING) {
    return { status: 'FAILED', error: 'ClassificationFailed', cause: 'model said no', startDate, stopDate: startDate + 40 };
  }
  const input = JSON.parse(req.input);
  if (input.throwCode) throw Object.assign(new Error('gone'), { code: input.throwCode });
  if (input.throwSfn) throw new SfnError('StateMachineDeleting', 'State Machine is being deleted');
  const ms = input.slow ? 120_000 : 1250;
  await clock.sleep(ms);
  return { status: 'SUCCEEDED', output: JSON.stringify({ echo: input }), startDate, stopDate: startDate + ms };
}

beforeAll(async () => {
  peer = await startStepFunctions({
    startSync,
    clock,
    stateMachines: { [EXPRESS]: 'EXPRESS', [FAILING]: 'EXPRESS', [STANDARD]: 'STANDARD' },
    throttle: () => throttles-- > 0,
  });
  // StartSyncExecution's endpoint trait prefixes the host with `sync-`: against loopback it must be disabled.
  sfn = new SFNClient({ endpoint: peer.url, region: 'us-east-1', credentials, maxAttempts: 1, disableHostPrefix: true });
});

afterAll(async () => {
  sfn.destroy();
  await peer.close();
});

const error = (p: Promise<unknown>): Promise<any> => p.then(() => { throw new Error('expected an error'); }, (e) => e);

test('without disableHostPrefix the SDK sends StartSyncExecution to sync-<host>', async () => {
  const client = new SFNClient({ endpoint: peer.url, region: 'us-east-1', credentials, maxAttempts: 1 });
  const hosts: string[] = [];
  client.middlewareStack.add((next) => async (args: any) => {
    hosts.push(args.request.hostname);
    return next(args);
  }, { step: 'finalizeRequest' });
  const before = requests.length;
  const err = await error(client.send(new StartSyncExecutionCommand({ stateMachineArn: EXPRESS, input: '{}' })));
  client.destroy();
  expect(hosts).toEqual(['sync-127.0.0.1']);
  expect(err.message).toMatch(/(ENOTFOUND|EAI_AGAIN) sync-127.0.0.1/);
  expect(requests.length).toBe(before); // it never reached the peer
});

test('StartSyncExecution answers the documented response shape', async () => {
  const res = await sfn.send(new StartSyncExecutionCommand({ stateMachineArn: EXPRESS, name: 'upload-1', input: '{"key":"a.jpg"}', traceHeader: 'Root=1-abc' }));
  expect(res).toMatchObject({
    executionArn: expect.stringMatching(/^arn:aws:states:us-east-1:123456789012:express:PerImage:upload-1:[0-9a-f-]{36}$/),
    stateMachineArn: EXPRESS,
    name: 'upload-1',
    status: 'SUCCEEDED',
    input: '{"key":"a.jpg"}',
    inputDetails: { included: true },
    output: '{"echo":{"key":"a.jpg"}}',
    outputDetails: { included: true },
    traceHeader: 'Root=1-abc',
    billingDetails: { billedMemoryUsedInMB: 64, billedDurationInMilliseconds: 1300 },
  });
  // Epoch seconds on the wire, Dates from the SDK; the simulated clock's times.
  expect(res.startDate).toBeInstanceOf(Date);
  expect(res.stopDate!.getTime() - res.startDate!.getTime()).toBe(1250);
  expect(requests[requests.length - 1]).toEqual({ stateMachineArn: EXPRESS, input: '{"key":"a.jpg"}', name: 'upload-1', traceHeader: 'Root=1-abc', executionArn: res.executionArn });

  const failed = await sfn.send(new StartSyncExecutionCommand({ stateMachineArn: FAILING }));
  expect(failed).toMatchObject({ status: 'FAILED', error: 'ClassificationFailed', cause: 'model said no', input: '{}' });
  expect(failed.output).toBeUndefined();
  expect(failed.name).toMatch(/^[0-9a-f-]{36}$/);
});

test('errors as the API reference names them', async () => {
  const start = (input: object) => error(sfn.send(new StartSyncExecutionCommand({ stateMachineArn: EXPRESS, ...input })));
  const missing = await start({ stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:Nope' });
  expect(missing).toBeInstanceOf(StateMachineDoesNotExist);
  expect(missing.message).toMatch(/State Machine Does Not Exist/);
  expect(missing.$metadata.httpStatusCode).toBe(400);
  const badInput = await start({ input: '{not json' });
  expect(badInput).toBeInstanceOf(InvalidExecutionInput);
  expect((await start({ name: 'x'.repeat(81) })).name).toBe('InvalidName');
  expect((await start({ name: 'has space' })).name).toBe('InvalidName');
  expect((await start({ name: 'a/b' })).name).toBe('InvalidName');
  expect((await start({ stateMachineArn: 'arn:aws:lambda:us-east-1:123456789012:function:f' })).name).toBe('InvalidArn');
  expect((await start({ stateMachineArn: STANDARD })).name).toBe('StateMachineTypeNotSupported');
  expect((await start({ input: JSON.stringify({ throwCode: 'StateMachineDoesNotExist' }) })).name).toBe('StateMachineDoesNotExist');
  expect((await start({ input: JSON.stringify({ throwSfn: true }) })).name).toBe('StateMachineDeleting');

  throttles = 1;
  const throttle = await start({});
  expect(throttle.name).toBe('ThrottlingException');
  // A throttling error code: an SDK with retries left backs off and tries again.
  const retrying = new SFNClient({ endpoint: peer.url, region: 'us-east-1', credentials, maxAttempts: 2, disableHostPrefix: true });
  throttles = 1;
  const res = await retrying.send(new StartSyncExecutionCommand({ stateMachineArn: EXPRESS }));
  retrying.destroy();
  expect(res.status).toBe('SUCCEEDED');
  expect(res.$metadata.attempts).toBe(2);
});

test('StartExecution runs in the background; DescribeExecution reports it; names are unique on STANDARD', async () => {
  const started = await sfn.send(new StartExecutionCommand({ stateMachineArn: STANDARD, name: 'batch-1', input: '{"slow":1}' }));
  expect(started.executionArn).toBe('arn:aws:states:us-east-1:123456789012:execution:Bulk:batch-1');
  expect(started.startDate).toBeInstanceOf(Date);
  const describe = () => sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
  expect((await describe()).status).toBe('RUNNING');

  // Same name and input while running: idempotent. Different input: ExecutionAlreadyExists.
  const again = await sfn.send(new StartExecutionCommand({ stateMachineArn: STANDARD, name: 'batch-1', input: '{"slow":1}' }));
  expect(again.executionArn).toBe(started.executionArn);
  expect((await error(sfn.send(new StartExecutionCommand({ stateMachineArn: STANDARD, name: 'batch-1', input: '{"n":2}' })))).name).toBe('ExecutionAlreadyExists');

  await clock.sleep(150_000);
  expect(await describe()).toMatchObject({ status: 'SUCCEEDED', output: '{"echo":{"slow":1}}', name: 'batch-1', stateMachineArn: STANDARD });
  expect((await error(sfn.send(new DescribeExecutionCommand({ executionArn: `${started.executionArn}-nope` })))).name).toBe('ExecutionDoesNotExist');
});
