/* eslint-disable import/no-extraneous-dependencies */
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { functionModel } from '../../local/src/models/function-model';
import { STATE_PAYLOAD_LIMIT_BYTES } from '../../local/src/payload-limit';
import { CfnTemplate, resolveIntrinsics } from '../../local/src/template-resolver';
import { DesignName, icsTemplate, referenceTemplate, startDesign } from '../lib/designs';
import { pngOfSize } from '../lib/images';

export interface SizeLimitResult {
  readonly design: DesignName;
  /** Largest image (bytes) whose execution SUCCEEDED. */
  readonly largestOkBytes: number;
  readonly largestOkPixels: string;
  /** One byte more: how that execution ended. */
  readonly firstFailingBytes: number;
  readonly failure: string;
  /** The limit the design is expected to stop at, and why. */
  readonly expectedLimitBytes: number;
  readonly expectedLimit: string;
  readonly probes: number;
}

const SEARCH_HIGH = 16 * 1024 * 1024;

/**
 * Binary search, to the byte, for the largest real PNG that completes end to end (upload → EventBridge rule →
 * execution SUCCEEDED) in the local runner with a zero-latency model, between 1 KiB (must pass) and 16 MiB (must fail).
 */
async function search(design: DesignName, template: CfnTemplate, expectedLimitBytes: number, expectedLimit: string): Promise<SizeLimitResult> {
  const model = functionModel(() => [0.01, 0.01, 0.01, 0.96, 0.005, 0.005]);
  const local = await startDesign(design, template, { vehicles: model });
  const client = local.s3.client();
  let probes = 0;
  const attempt = async (size: number) => {
    probes++;
    const key = `sizes/${design}-${size}.png`;
    const run = await local.upload(key, pngOfSize(size).bytes);
    await client.send(new DeleteObjectCommand({ Bucket: local.bucketName, Key: key })); // keep the peer's disk small
    return run;
  };
  try {
    let lo = 1024;
    let hi = SEARCH_HIGH;
    if ((await attempt(lo)).status !== 'SUCCEEDED') throw new Error(`${design}: a ${lo}-byte image does not complete`);
    let failure = await attempt(hi);
    if (failure.status === 'SUCCEEDED') throw new Error(`${design}: a ${hi}-byte image completes; raise SEARCH_HIGH`);
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      const run = await attempt(mid);
      if (run.status === 'SUCCEEDED') {
        lo = mid;
      } else {
        hi = mid;
        failure = run;
      }
    }
    const { width, height } = pngOfSize(lo);
    return {
      design,
      largestOkBytes: lo,
      largestOkPixels: `${width}×${height}`,
      firstFailingBytes: hi,
      failure: `${failure.error}: ${(failure.cause ?? '').slice(0, 160)}`,
      expectedLimitBytes,
      expectedLimit,
      probes,
    };
  } finally {
    client.destroy();
    await local.close();
  }
}

/** ICS's configured `maxImageSize` as the classify function reads it (its environment). */
function icsMaxImageBytes(template: CfnTemplate): number {
  for (const [id, r] of Object.entries(template.Resources)) {
    if (r.Type !== 'AWS::Lambda::Function' || !/ClassifyFunction/.test(id)) continue;
    const env = resolveIntrinsics(r.Properties?.Environment?.Variables ?? {}, template) as Record<string, string>;
    const value = Object.entries(env).find(([k]) => /MAX_IMAGE/.test(k))?.[1];
    if (value) return Number(value);
  }
  return 6 * 1024 * 1024;
}

export async function measureSizeLimits(log: (line: string) => void): Promise<SizeLimitResult[]> {
  const ics = icsTemplate();
  const icsMax = icsMaxImageBytes(ics);
  const results = [
    await search('ICS', ics, icsMax, 'maxImageSize (default 6 MiB), equal to SageMaker real-time InvokeEndpoint\'s 6 MB request limit'),
    await search('reference', referenceTemplate(), Math.floor(STATE_PAYLOAD_LIMIT_BYTES * 3 / 4),
      'Step Functions\' 256 KiB state payload: the image travels as base64 (4/3 of its size), so ≈ 3/4 of 256 KiB minus the other fields'),
  ];
  for (const r of results) log(`  ${r.design}: largest ${r.largestOkBytes} bytes (${r.largestOkPixels} px); ${r.firstFailingBytes} → ${r.failure.slice(0, 80)}`);
  return results;
}
