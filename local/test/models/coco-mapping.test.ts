import { BANK_SECURITY_COCO_MAPPING, BANK_SECURITY_LABELS, cocoProbabilities } from '../../src/models/coco-mapping';

const p = (d: { label: string; score: number }[]) => cocoProbabilities(d, BANK_SECURITY_LABELS, BANK_SECURITY_COCO_MAPPING);

test('no mapped detection gives a uniform vector', () => {
  expect(p([{ label: 'cat', score: 0.9 }])).toEqual(Array(6).fill(1 / 6));
});

test('max score per label, floor for the rest, normalized to 1', () => {
  const v = p([{ label: 'car', score: 0.3 }, { label: 'truck', score: 0.7 }, { label: 'bus', score: 0.25 }]);
  const total = 0.71 + 0.26 + 4 * 0.01;
  expect(v[2]).toBeCloseTo(0.71 / total); // pickup_truck from the best of truck/car
  expect(v[3]).toBeCloseTo(0.26 / total);
  expect(v[4]).toBeCloseTo(0.01 / total); // tank: no COCO class, floor only
  expect(v.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
});

test('detections under minScore are ignored', () => {
  expect(p([{ label: 'motorcycle', score: 0.19 }])).toEqual(Array(6).fill(1 / 6));
  expect(cocoProbabilities([{ label: 'motorcycle', score: 0.19 }], ['motorcycle', 'x'], { motorcycle: ['motorcycle'] }, { minScore: 0.1 })[0])
    .toBeCloseTo(0.2 / 0.21);
});
