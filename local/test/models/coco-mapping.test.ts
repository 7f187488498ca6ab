import { BANK_SECURITY_COCO_MAPPING, BANK_SECURITY_LABELS, cocoScores } from '../../src/models/coco-mapping';

const s = (d: { label: string; score: number }[]) => cocoScores(d, BANK_SECURITY_LABELS, BANK_SECURITY_COCO_MAPPING);

test('no mapped detection scores 0 everywhere, not a uniform tie', () => {
  expect(s([{ label: 'cat', score: 0.9 }, { label: 'person', score: 0.8 }])).toEqual(Array(6).fill(0));
});

test("each label keeps its best detection's own score: nothing is renormalised", () => {
  const v = s([{ label: 'truck', score: 0.45 }, { label: 'truck', score: 0.65 }, { label: 'bus', score: 0.35 }]);
  expect(v).toEqual([0, 0, 0.65, 0.35, 0, 0]); // pickup_truck, bus; tank and tractor have no COCO class
});

test('a car is not a pickup truck', () => {
  expect(s([{ label: 'car', score: 0.9 }])).toEqual(Array(6).fill(0));
});

test('detections under minScore are ignored', () => {
  expect(s([{ label: 'motorcycle', score: 0.29 }])).toEqual(Array(6).fill(0));
  expect(cocoScores([{ label: 'motorcycle', score: 0.19 }], ['motorcycle', 'x'], { motorcycle: ['motorcycle'] }, { minScore: 0.1 })).toEqual([0.19, 0]);
});
