import * as fs from 'fs';
import { README, withAcknowledgements } from '../../scripts/acknowledgements';
import { ACKNOWLEDGEMENTS } from '../../src/compliance/acknowledgements';

describe('README acknowledgements', () => {
  test('the README block is generated from src/compliance (run scripts/acknowledgements.ts when this fails)', () => {
    const readme = fs.readFileSync(README, 'utf8');
    expect(withAcknowledgements(readme)).toEqual(readme);
  });

  test('every acknowledgement names rules of the five packs and gives a reason', () => {
    for (const ack of Object.values(ACKNOWLEDGEMENTS)) {
      expect(ack.rules.length).toBeGreaterThan(0);
      for (const rule of ack.rules) expect(rule).toMatch(/^(AwsSolutions|Serverless|HIPAA\.Security|NIST\.800\.53\.R5|PCI\.DSS\.321)-\w+/);
      expect(ack.reason.length).toBeGreaterThan(60);
    }
  });
});
