import { CfnResource, IAspect, Stack, Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** One suppression in cdk-nag 2.x's CloudFormation metadata (`NagSuppressions` writes the same shape). */
interface NagV2Suppression {
  readonly id: string;
  readonly reason: string;
  readonly applies_to?: string[];
}

/** `AwsSolutions-IAM5[Resource::*]` → rule `AwsSolutions-IAM5`, finding `Resource::*`. */
const GRANULAR = /^([^[\]]+)\[(.+)\]$/;

/**
 * Writes every acknowledgement the construct makes (aws-cdk-lib `Validations`, which cdk-nag 3 reads) into each
 * of its CloudFormation resources' `cdk_nag` metadata as well, in the form cdk-nag 2.x reads: a stack checked
 * with either version shows the same acknowledged findings, with the same reasons. Suppressions already on a
 * resource (the consumer's `NagSuppressions`) are kept. Runs after the aspects that acknowledge at synthesis.
 */
export class NagV2Metadata implements IAspect {
  constructor(private readonly root: IConstruct) {}

  public visit(node: IConstruct): void {
    if (node === this.root) {
      // aws-cdk-lib's stack-wide bucket-notifications handler is acknowledged by the construct but lives outside it.
      for (const child of Stack.of(node).node.children) {
        if (child.node.id.startsWith('BucketNotificationsHandler')) child.node.findAll().forEach(writeNagV2Metadata);
      }
    }
    writeNagV2Metadata(node);
  }
}

/**
 * Writes the acknowledgements that apply to `node` (on it or its scopes) into its `cdk_nag` metadata, if it is a
 * CloudFormation resource. Also called directly for resources outside the construct that aspects may visit
 * before it (an imported bucket's notifications, created when the pipeline turns them on).
 */
export function writeNagV2Metadata(node: IConstruct): void {
  if (!CfnResource.isCfnResource(node)) return;
  const acknowledged = new Map<string, string>();
  for (let scope: IConstruct | undefined = node; scope; scope = scope.node.scope) {
    for (const entry of scope.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY || !entry.data) continue;
      for (const [key, reason] of Object.entries(entry.data as Record<string, string>)) {
        const id = key.replace(/^annotation::/i, '');
        if (!acknowledged.has(id)) acknowledged.set(id, reason);
      }
    }
  }
  if (acknowledged.size === 0) return;

  const existing: NagV2Suppression[] = node.getMetadata('cdk_nag')?.rules_to_suppress ?? [];
  // cdk-nag 2.x keys suppressions by rule id: one entry per rule, its findings in applies_to, every reason kept.
  const rules = new Map<string, { reasons: string[]; appliesTo: string[]; whole: boolean }>();
  for (const [id, reason] of acknowledged) {
    const m = GRANULAR.exec(id);
    const rule = rules.get(m ? m[1] : id) ?? { reasons: [], appliesTo: [], whole: false };
    if (!rule.reasons.includes(reason)) rule.reasons.push(reason);
    if (m) rule.appliesTo.push(m[2]);
    else rule.whole = true;
    rules.set(m ? m[1] : id, rule);
  }
  const ours: NagV2Suppression[] = [...rules].map(([id, r]) => ({
    id,
    reason: r.reasons.join(' / '),
    ...(r.whole || r.appliesTo.length === 0 ? {} : { applies_to: r.appliesTo }),
  }));
  const kept = existing.filter((s) => !rules.has(s.id));
  node.addMetadata('cdk_nag', { rules_to_suppress: [...kept, ...ours] });
}
