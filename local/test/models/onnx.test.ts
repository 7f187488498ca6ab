import * as path from 'node:path';
import { PNG } from 'pngjs';
import { onnxModel } from '../../src/models/onnx';

/** A solid-colour PNG. */
function solidPng(r: number, g: number, b: number, size = 16): Buffer {
  const png = new PNG({ width: size, height: size });
  for (let i = 0; i < size * size; i++) png.data.set([r, g, b, 255], i * 4);
  return PNG.sync.write(png);
}

// fixtures/mean-rgb.onnx (made by fixtures/make-mean-rgb-onnx.py): softmax of the mean R, G, B in [0, 1].
const model = onnxModel({ modelPath: path.join(__dirname, 'fixtures', 'mean-rgb.onnx'), width: 32, height: 32 });

afterAll(() => model.close!());

test('runs a real ONNX graph on a decoded image', async () => {
  const out = await model.invoke(solidPng(255, 0, 0), 'image/png');
  const { prediction } = JSON.parse(out.body.toString()) as { prediction: number[] };
  const e = Math.E;
  expect(prediction[0]).toBeCloseTo(e / (e + 2), 5);
  expect(prediction[1]).toBeCloseTo(1 / (e + 2), 5);
  expect(out.contentType).toBe('application/json');
});

test('an undecodable body makes the backend throw', async () => {
  await expect(model.invoke(Buffer.from('not an image'), 'image/jpeg')).rejects.toThrow(/unsupported image format/);
});

test('a missing model file fails ready()', async () => {
  const missing = onnxModel({ modelPath: path.join(__dirname, 'fixtures', 'missing.onnx'), width: 32, height: 32 });
  await expect(missing.ready!()).rejects.toThrow(/onnxruntime/);
});
