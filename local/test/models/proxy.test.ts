import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { proxyModel } from '../../src/models/proxy';
import { readBody, startLoopbackServer } from '../../src/peers/loopback-server';
import { startSageMakerRuntime } from '../../src/peers/sagemaker-runtime';

test('forwards to a SageMaker-style container and maps its failures to ModelError', async () => {
  // A stand-in container: answers /invocations with the body length and content type it received.
  const container = await startLoopbackServer(async (req, res) => {
    const body = await readBody(req, 1e6);
    if (body.toString() === 'boom') {
      res.writeHead(500, { 'content-type': 'text/plain' });
      return void res.end('model crashed');
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ path: req.url, bytes: body.length, contentType: req.headers['content-type'] }));
  });
  const closed = await startLoopbackServer(() => undefined); // a port that refuses connections once closed
  await closed.close();
  const peer = await startSageMakerRuntime({
    models: { live: proxyModel({ url: container.url }), gone: proxyModel({ url: closed.url }) },
  });
  const client = new SageMakerRuntimeClient({ endpoint: peer.url, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
  const invoke = (EndpointName: string, body: string) =>
    client.send(new InvokeEndpointCommand({ EndpointName, Body: Buffer.from(body), ContentType: 'image/png' }));
  try {
    const ok = await invoke('live', 'abcd');
    expect(JSON.parse(Buffer.from(ok.Body!).toString())).toEqual({ path: '/invocations', bytes: 4, contentType: 'image/png' });
    const failed = await invoke('live', 'boom').catch((e) => e);
    expect(failed.name).toBe('ModelError');
    expect(failed.OriginalStatusCode).toBe(500);
    expect(failed.OriginalMessage).toBe('model crashed');
    const refused = await invoke('gone', 'x').catch((e) => e);
    expect(refused.name).toBe('ModelError');
    expect(refused.OriginalStatusCode).toBe(503);
    expect(refused.OriginalMessage).toMatch(/unreachable \(ECONNREFUSED\)/);
  } finally {
    client.destroy();
    await peer.close();
    await container.close();
  }
});
