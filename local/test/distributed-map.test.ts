import { itemsFromMapResults } from 'cdk-image-classification-pipeline/lib/handlers/map-results';
import { evaluateTemplate, parseCsv } from '../src/distributed-map';

describe('Distributed Map emulation helpers', () => {
  test('CSV with a header row, quoting and CRLF', () => {
    expect(parseCsv('key,bucket\r\n"a,b.jpg",x\r\n"say ""hi"".png",\r\n')).toEqual([
      { key: 'a,b.jpg', bucket: 'x' },
      { key: 'say "hi".png', bucket: '' },
    ]);
  });

  test('ItemSelector paths read the Map input and the item', () => {
    expect(evaluateTemplate({ 'bucket': 'b', 'key.$': '$$.Map.Item.Value.Key', 'from.$': '$.prefix' }, { prefix: 'p/' }, { Map: { Item: { Value: { Key: 'p/1.jpg' } } } }))
      .toEqual({ bucket: 'b', key: 'p/1.jpg', from: 'p/' });
  });

  test('result-writer entries become batch items', () => {
    expect(itemsFromMapResults([
      { Status: 'SUCCEEDED', Output: '{"key":"a.jpg","outcome":"ACCEPTED","label":"bus"}' },
      { Status: 'FAILED', Input: '{"bucket":"b","key":"c.jpg"}', Error: 'TruncatedImage', Cause: '...' },
      { Status: 'FAILED', Input: 'not json' },
    ])).toEqual([
      { key: 'a.jpg', outcome: 'ACCEPTED', label: 'bus' },
      { bucket: 'b', key: 'c.jpg', outcome: 'ERROR', error: 'TruncatedImage' },
      { bucket: undefined, key: undefined, outcome: 'ERROR', error: 'Unknown' },
    ]);
  });
});
