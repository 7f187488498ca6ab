import { Token } from 'aws-cdk-lib';
import { AuditDeliveryType, AuditTrailOptions } from './audit-trail';

const resolved = (v: unknown) => v !== undefined && !Token.isUnresolved(v);

/** Every problem with the audit trail's options, as readable sentences; empty when valid or off. */
export function validateAuditTrail(options: AuditTrailOptions | undefined, prefix: string): string[] {
  if (options?.enabled === false) return [];
  const problems: string[] = [];
  const stream = options?.delivery?.type === AuditDeliveryType.DELIVERY_STREAM ? options.delivery.deliveryStreamOptions : undefined;
  const interval = stream?.bufferingInterval;
  const seconds = interval?.toSeconds({ integral: false });
  if (interval && resolved(seconds) && !(seconds! >= 0 && seconds! <= 900)) {
    problems.push(`auditTrail delivery bufferingInterval must be 0 to 900 seconds, got ${interval.toHumanString()}`);
  }
  const size = stream?.bufferingSize;
  const mib = size && size.toBytes() / (1024 * 1024);
  if (size && resolved(mib) && !(Number.isInteger(mib) && mib! >= 1 && mib! <= 128)) {
    problems.push(`auditTrail delivery bufferingSize must be a whole number of MiB from 1 to 128, got ${size.toBytes()} bytes`);
  }
  const name = options?.databaseName;
  if (resolved(name) && !/^[a-z0-9_]{1,255}$/.test(name!)) {
    problems.push(`auditTrail databaseName must be 1 to 255 lower-case letters, digits or underscores (Athena's rule), got "${name}"`);
  }
  // The Glue table's location is a folder of records only: not the bucket root, where Athena results and bulk results live.
  if ((options?.catalog ?? true) && resolved(prefix) && !/^[^/].*\/$/.test(prefix)) {
    problems.push(`auditTrail.prefix must be a folder like "results/" (non-empty, ending in "/") for the Glue table's location, got "${prefix}"; or set catalog: false`);
  }
  if (options?.catalog === false && name !== undefined) problems.push('auditTrail databaseName is set but catalog is false');
  return problems;
}
