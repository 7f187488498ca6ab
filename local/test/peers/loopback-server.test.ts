import * as net from 'node:net';
import { LoopbackServer, startLoopbackServer } from '../../src/peers/loopback-server';

const servers: LoopbackServer[] = [];
afterAll(() => Promise.all(servers.map((s) => s.close())));

async function serve(handler: Parameters<typeof startLoopbackServer>[0], answer?: Parameters<typeof startLoopbackServer>[2]) {
  const server = await startLoopbackServer(handler, 0, answer, 'test');
  servers.push(server);
  return server;
}

// Every peer runs on this server: whatever a handler throws fails its request, never the process.
describe('a handler that fails', () => {
  test.each([
    ['throws', () => {
      throw new Error('sync boom');
    }],
    ['rejects', async () => {
      throw new Error('async boom');
    }],
  ])('%s: the request is answered 500 in the peer\'s protocol and recorded', async (_, handler) => {
    const server = await serve(handler, (res, err) => {
      res.writeHead(500, { 'Content-Type': 'application/xml' });
      res.end(`<Error><Code>InternalError</Code><Message>${(err as Error).message}</Message></Error>`);
    });
    const res = await fetch(`${server.url}/some/path`);
    expect(res.status).toBe(500);
    expect(await res.text()).toMatch(/<Code>InternalError<\/Code><Message>(sync|async) boom<\/Message>/);
    expect(server.errors).toEqual([{ method: 'GET', url: '/some/path', message: expect.stringMatching(/boom/) }]);
  });

  test('without a protocol of its own, the answer is the AWS JSON InternalFailure', async () => {
    const server = await serve(() => Promise.reject(new Error('no protocol')));
    const res = await fetch(server.url);
    expect(res.status).toBe(500);
    expect(res.headers.get('x-amzn-errortype')).toBe('InternalFailure');
    expect(await res.json()).toEqual({ __type: 'InternalFailure', message: 'no protocol' });
  });

  test('after its answer began, the connection is dropped; the server keeps serving', async () => {
    let calls = 0;
    const server = await serve(async (_req, res) => {
      if (++calls > 1) return void res.end('fine');
      res.writeHead(200);
      res.write('partial');
      throw new Error('mid-answer');
    });
    await expect(fetch(server.url).then((r) => r.text())).rejects.toThrow();
    expect(await (await fetch(server.url)).text()).toBe('fine');
    expect(server.errors.map((e) => e.message)).toEqual(['mid-answer']);
  });

  test('a client that drops its connection mid-body fails only that request', async () => {
    const server = await serve(async (req, res) => {
      for await (const _ of req); // reading a body that never completes rejects
      res.end('read');
    });
    await new Promise<void>((resolve) => {
      const socket = net.connect(Number(new URL(server.url).port), '127.0.0.1', () => {
        socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\npartial');
        setTimeout(() => socket.destroy(), 50);
      });
      socket.on('close', () => resolve());
    });
    expect(await (await fetch(server.url, { method: 'POST', body: 'whole' })).text()).toBe('read');
  });
});
