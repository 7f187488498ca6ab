import { Token } from 'aws-cdk-lib';
import { EndpointHosting, EndpointHostingType } from './hosting';

/** The endpoint props the validator checks, with defaults applied (tokens pass through unchecked). Internal. */
export interface ValidatedEndpointProps {
  readonly hosting: EndpointHosting;
  readonly endpointName?: string;
  readonly variantName: string;
  readonly dataCapture?: {
    readonly samplingPercentage: number;
    readonly captureInputs: boolean;
    readonly captureOutputs: boolean;
  };
  readonly encryptionKey: boolean;
}

/** SageMaker endpoint and variant names. */
const NAME_PATTERN = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;
const SERVERLESS_MEMORY_SIZES = [1024, 2048, 3072, 4096, 5120, 6144];
const MAX_SERVERLESS_CONCURRENCY = 200;
/**
 * Instance families with local NVMe instance storage that the family name shows (`d` after the generation:
 * m5d, c6id, g4dn, p3dn, p4d, ...). CreateEndpointConfig rejects a KmsKeyId for them.
 */
/** Instance families with local NVMe storage (a `d` in the family), which CreateEndpointConfig refuses a KmsKeyId for. */
export const LOCAL_STORAGE_FAMILY = /^ml\.[a-z]+\d+[a-z]*d[a-z]*\./;

const resolved = (v: unknown) => !Token.isUnresolved(v);
const isInt = (v: number) => Number.isInteger(v);

/** Every problem with the props, as readable sentences; empty when valid. */
export function validateEndpointProps(p: ValidatedEndpointProps): string[] {
  const problems: string[] = [];
  const h = p.hosting;

  if (p.endpointName !== undefined && resolved(p.endpointName) && !NAME_PATTERN.test(p.endpointName)) {
    problems.push(`endpointName "${p.endpointName}" is not a valid SageMaker endpoint name (1-63 alphanumerics and hyphens)`);
  }
  if (resolved(p.variantName) && !NAME_PATTERN.test(p.variantName)) {
    problems.push(`variantName "${p.variantName}" is not a valid variant name (1-63 alphanumerics and hyphens)`);
  }

  if (h.type === EndpointHostingType.SERVERLESS) {
    const memory = h.memorySizeInMb!;
    const max = h.maxConcurrency!;
    if (resolved(memory) && !SERVERLESS_MEMORY_SIZES.includes(memory)) {
      problems.push(`hosting.memorySizeInMb must be one of ${SERVERLESS_MEMORY_SIZES.join(', ')}, got ${memory}`);
    }
    if (resolved(max) && !(isInt(max) && max >= 1 && max <= MAX_SERVERLESS_CONCURRENCY)) {
      problems.push(`hosting.maxConcurrency must be an integer from 1 to ${MAX_SERVERLESS_CONCURRENCY}, got ${max}`);
    }
    const provisioned = h.provisionedConcurrency;
    if (provisioned !== undefined && resolved(provisioned)) {
      if (!(isInt(provisioned) && provisioned >= 1)) {
        problems.push(`hosting.provisionedConcurrency must be an integer of at least 1, got ${provisioned}`);
      } else if (resolved(max) && provisioned > max) {
        problems.push(`hosting.provisionedConcurrency (${provisioned}) must not exceed hosting.maxConcurrency (${max})`);
      }
    }
    if (p.dataCapture !== undefined) {
      problems.push('dataCapture is not supported by serverless endpoints; use EndpointHosting.instances(...) to capture requests and responses');
    }
  } else {
    const type = h.instanceType!;
    if (resolved(type) && !type.startsWith('ml.')) {
      problems.push(`hosting.instanceType must be an ML instance type starting with "ml." (e.g. ml.m5.large), got "${type}"`);
    } else if (resolved(type) && p.encryptionKey && LOCAL_STORAGE_FAMILY.test(type)) {
      problems.push(`encryptionKey cannot encrypt the storage of ${type}: it has local instance storage, which SageMaker encrypts itself ` +
        '(CreateEndpointConfig rejects a KmsKeyId for it); choose a type without local storage or leave encryptionKey unset');
    }
    const count = h.initialInstanceCount!;
    if (resolved(count) && !(isInt(count) && count >= 1)) {
      problems.push(`hosting.initialInstanceCount must be an integer of at least 1, got ${count}`);
    }
    const scaling = h.autoScaling;
    if (scaling !== undefined) {
      const { minCapacity: min, maxCapacity: maxCap, targetInvocationsPerInstance: target } = scaling;
      if (resolved(min) && !(isInt(min) && min >= 1)) {
        problems.push(`hosting.autoScaling.minCapacity must be an integer of at least 1, got ${min}`);
      }
      if (resolved(maxCap) && !(isInt(maxCap) && maxCap >= 1)) {
        problems.push(`hosting.autoScaling.maxCapacity must be an integer of at least 1, got ${maxCap}`);
      }
      if (resolved(min) && resolved(maxCap) && min > maxCap) {
        problems.push(`hosting.autoScaling.minCapacity (${min}) must not exceed maxCapacity (${maxCap})`);
      }
      if (resolved(target) && !(target > 0)) {
        problems.push(`hosting.autoScaling.targetInvocationsPerInstance must be positive, got ${target}`);
      }
    }
  }

  const capture = p.dataCapture;
  if (capture !== undefined) {
    const pct = capture.samplingPercentage;
    if (resolved(pct) && !(isInt(pct) && pct >= 1 && pct <= 100)) {
      problems.push(`dataCapture.samplingPercentage must be an integer from 1 to 100, got ${pct}`);
    }
    if (!capture.captureInputs && !capture.captureOutputs) {
      problems.push('dataCapture must capture inputs, outputs or both (captureInputs and captureOutputs are both false)');
    }
  }
  return problems;
}
