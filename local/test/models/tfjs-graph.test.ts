import * as fs from 'fs';
import * as path from 'path';
import { images } from '../../../test/handlers/fixtures';
import { tfjsGraphModel } from '../../src/models/tfjs-graph';

// A real TF.js graph model that installs from npm: Human's 7-class facial-expression classifier
// (64×64 grayscale in, one probability per class out).
const EMOTION = path.join(path.dirname(require.resolve('@vladmandic/human')), '..', 'models', 'emotion.json');
const PHOTO = fs.readFileSync(path.join(__dirname, '..', '..', 'demo', 'images', 'bus.jpg'));

describe('tfjsGraphModel', () => {
  const model = tfjsGraphModel({ modelPath: EMOTION, width: 64, height: 64, channels: 1 });
  afterAll(() => model.close?.());

  test('loads model.json and its shards from disk and answers one probability per class', async () => {
    await model.ready?.();
    const out = JSON.parse(String((await model.invoke(PHOTO, 'image/jpeg')).body));
    expect(out.prediction).toHaveLength(7);
    expect(out.prediction.reduce((a: number, b: number) => a + b, 0)).toBeCloseTo(1, 3);
    // Deterministic: the same bytes give the same scores; different images give different ones.
    expect(JSON.parse(String((await model.invoke(PHOTO, 'image/jpeg')).body))).toEqual(out);
    expect(JSON.parse(String((await model.invoke(images.png, 'image/png')).body)).prediction).not.toEqual(out.prediction);
  });

  test('undecodable bytes throw before the model runs', async () => {
    await expect(model.invoke(Buffer.from('not an image'), 'image/jpeg')).rejects.toThrow();
  });
});
