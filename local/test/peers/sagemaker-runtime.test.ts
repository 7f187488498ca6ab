import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { functionModel } from '../../src/models/function-model';
import { SageMakerRuntimePeer, startSageMakerRuntime } from '../../src/peers/sagemaker-runtime';

let peer: SageMakerRuntimePeer;
let client: SageMakerRuntimeClient;

beforeAll(async () => {
  peer = await startSageMakerRuntime({
    models: {
      vehicles: functionModel((bytes) => (bytes.length % 2 === 0 ? [0.9, 0.1] : [0.2, 0.8])),
      broken: functionModel(() => {
        throw new Error('cannot decode image');
      }),
    },
  });
  // maxAttempts 1: see each answer as the handler's first attempt does (SDK retries are tested separately).
  client = new SageMakerRuntimeClient({
    endpoint: peer.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  client.destroy();
  await peer.close();
});

const invoke = (endpointName: string, body = Buffer.from('ab'), c = client) =>
  c.send(new InvokeEndpointCommand({ EndpointName: endpointName, Body: body, ContentType: 'image/jpeg', Accept: 'application/json' }));

async function errorOf(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected the call to fail');
}

test('answers the model output with the invoked variant', async () => {
  const res = await invoke('vehicles');
  expect(JSON.parse(Buffer.from(res.Body!).toString())).toEqual({ prediction: [0.9, 0.1] });
  expect(res.ContentType).toBe('application/json');
  expect(res.InvokedProductionVariant).toBe('AllTraffic');
  const last = peer.invocations[peer.invocations.length - 1];
  expect(last).toMatchObject({ endpointName: 'vehicles', contentType: 'image/jpeg', accept: 'application/json', bytes: 2, status: 200 });
});

test('unknown endpoint is a ValidationError', async () => {
  const err = await errorOf(invoke('nope'));
  expect(err.name).toBe('ValidationError');
  expect(err.$metadata.httpStatusCode).toBe(400);
  expect(err.message).toBe('Endpoint nope of account 123456789012 not found.');
});

test('a model that raises is a 424 ModelError with the original status and log stream', async () => {
  const err = await errorOf(invoke('broken'));
  expect(err.name).toBe('ModelError');
  expect(err.$metadata.httpStatusCode).toBe(424);
  expect(err.OriginalStatusCode).toBe(500);
  expect(err.OriginalMessage).toBe('cannot decode image');
  expect(err.LogStreamArn).toContain('/aws/sagemaker/Endpoints/broken');
});

test.each([
  [500, 'InternalFailure', 500],
  [503, 'ServiceUnavailable', 503],
  [424, 'ModelError', 424],
  ['ThrottlingException', 'ThrottlingException', 400],
  ['ModelNotReadyException', 'ModelNotReadyException', 400],
] as const)('injected fault %s is raised as %s', async (fault, name, status) => {
  peer.failNext('vehicles', 1, fault);
  const err = await errorOf(invoke('vehicles'));
  expect(err.name).toBe(name);
  expect(err.$metadata.httpStatusCode).toBe(status);
  await expect(invoke('vehicles')).resolves.toBeDefined(); // the fault is consumed
});

test('the SDK retries injected 5xx and then succeeds', async () => {
  const retrying = new SageMakerRuntimeClient({
    endpoint: peer.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 3,
  });
  const before = peer.invocations.length;
  peer.failNext('vehicles', 2, 503);
  const res = await invoke('vehicles', Buffer.from('abc'), retrying);
  expect(JSON.parse(Buffer.from(res.Body!).toString())).toEqual({ prediction: [0.2, 0.8] });
  expect(peer.invocations.slice(before).map((i) => i.status)).toEqual([503, 503, 200]);
  retrying.destroy();
}, 20_000);

test('a down endpoint answers ServiceUnavailable until it is up again', async () => {
  peer.setDown('vehicles', true);
  expect((await errorOf(invoke('vehicles'))).name).toBe('ServiceUnavailable');
  expect((await errorOf(invoke('vehicles'))).name).toBe('ServiceUnavailable');
  peer.setDown('vehicles', false);
  await expect(invoke('vehicles')).resolves.toBeDefined();
});

test('target variant and custom attributes are recorded; an unknown variant is a ValidationError', async () => {
  const res = await client.send(new InvokeEndpointCommand({
    EndpointName: 'vehicles', Body: Buffer.from('ab'), ContentType: 'image/png', TargetVariant: 'AllTraffic', CustomAttributes: 'trace=1',
  }));
  expect(res.InvokedProductionVariant).toBe('AllTraffic');
  expect(peer.invocations[peer.invocations.length - 1]).toMatchObject({ targetVariant: 'AllTraffic', customAttributes: 'trace=1' });
  const err = await errorOf(client.send(new InvokeEndpointCommand({ EndpointName: 'vehicles', Body: Buffer.from('ab'), TargetVariant: 'Blue' })));
  expect(err.name).toBe('ValidationError');
});

test('until a model is loaded its endpoint answers ModelNotReadyException', async () => {
  let release!: () => void;
  const loading = new Promise<void>((r) => (release = r));
  const slow = await startSageMakerRuntime({
    models: { slow: { ...functionModel(() => [1]), ready: () => loading } },
    waitForModels: false,
  });
  const c = new SageMakerRuntimeClient({ endpoint: slow.url, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
  expect((await errorOf(invoke('slow', undefined, c))).name).toBe('ModelNotReadyException');
  release();
  await loading;
  await new Promise((r) => setImmediate(r));
  await expect(invoke('slow', undefined, c)).resolves.toBeDefined();
  c.destroy();
  await slow.close();
});

test('capacity: requests beyond the endpoint\'s concurrency are throttled as SageMaker throttles (400 ThrottlingException)', async () => {
  peer.setCapacity('vehicles', { concurrency: 2, latencyMs: 100 });
  try {
    const results = await Promise.allSettled([invoke('vehicles'), invoke('vehicles'), invoke('vehicles'), invoke('vehicles')]);
    const throttled = results.filter((r) => r.status === 'rejected').map((r: any) => [r.reason.name, r.reason.$metadata.httpStatusCode]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(2);
    expect(throttled).toEqual([['ThrottlingException', 400], ['ThrottlingException', 400]]);
    // Throttled requests count while they are answered: more than the 2 served were in flight.
    expect(peer.highestInFlight.vehicles).toBeGreaterThan(2);
    // Once the first two are answered, the endpoint serves again.
    await expect(invoke('vehicles')).resolves.toMatchObject({ $metadata: { httpStatusCode: 200 } });
  } finally {
    peer.setCapacity('vehicles', undefined);
  }
});
