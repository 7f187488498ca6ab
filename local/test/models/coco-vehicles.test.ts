import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { BANK_SECURITY_LABELS } from '../../src/models/coco-mapping';
import { cocoVehiclesModel } from '../../src/models/coco-vehicles';
import { startSageMakerRuntime } from '../../src/peers/sagemaker-runtime';

const image = (name: string) => readFileSync(path.join(__dirname, '..', '..', 'demo', 'images', name));
const model = cocoVehiclesModel();
const predict = async (name: string) =>
  (JSON.parse((await model.invoke(image(name), 'image/jpeg')).body.toString()) as { prediction: number[] }).prediction;
const top = (prediction: number[]) => BANK_SECURITY_LABELS[prediction.indexOf(Math.max(...prediction))];

beforeAll(() => model.ready!(), 60_000);

test.each([['motorcycle.jpg', 'motorcycle'], ['pickup-truck.jpg', 'pickup_truck'], ['bus.jpg', 'bus']])('%s scores %s highest, with the detector\'s own score', async (name, label) => {
  const prediction = await predict(name);
  expect(prediction).toHaveLength(BANK_SECURITY_LABELS.length);
  expect(top(prediction)).toBe(label);
  expect(Math.max(...prediction)).toBeGreaterThan(0.5);
  expect(Math.max(...prediction)).toBeLessThan(1);
});

test.each(['chelsea.jpg', 'camera.png'])('%s (no vehicle: a cat, a man with a camera) scores 0 for every label', async (name) => {
  expect(await predict(name)).toEqual(Array(6).fill(0));
});

test('each call is a fresh detection, not a cached frame', async () => {
  expect(Math.max(...(await predict('motorcycle.jpg')))).toBeGreaterThan(0.5);
  expect(Math.max(...(await predict('chelsea.jpg')))).toBe(0);
  expect(Math.max(...(await predict('motorcycle.jpg')))).toBeGreaterThan(0.5);
});

test('behind the runtime peer: a truncated JPEG is a 424 ModelError, a photo is a prediction', async () => {
  const peer = await startSageMakerRuntime({ models: { vehicles: model } });
  const client = new SageMakerRuntimeClient({ endpoint: peer.url, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' }, maxAttempts: 1 });
  try {
    const err = await client.send(new InvokeEndpointCommand({ EndpointName: 'vehicles', Body: image('truncated.jpg'), ContentType: 'image/jpeg' })).catch((e) => e);
    expect(err.name).toBe('ModelError');
    expect(err.OriginalStatusCode).toBe(500);
    const ok = await client.send(new InvokeEndpointCommand({ EndpointName: 'vehicles', Body: image('bus.jpg'), ContentType: 'image/jpeg' }));
    expect(JSON.parse(Buffer.from(ok.Body!).toString()).prediction).toHaveLength(6);
  } finally {
    client.destroy();
    await peer.close();
  }
});
