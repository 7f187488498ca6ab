import { denialMessage } from './evaluate';
import { PolicyDocument } from './model';
import { planCalls, PlannedCall } from './plan';
import { ExternalPolicies, TemplatePolicies } from './template-policies';
import { CfnTemplate } from '../template-resolver';

export interface IamReportOptions {
  /** A permissions boundary your platform puts on every role. @default the roles' own */
  readonly boundary?: PolicyDocument;
  /** Service control policies of the account. @default none */
  readonly scps?: readonly PolicyDocument[];
  /** Policies and encryption of resources you bring (buckets, keys, topics). @default AWS's defaults */
  readonly external?: ExternalPolicies;
}

export interface IamReport {
  readonly calls: PlannedCall[];
  readonly denied: PlannedCall[];
  /** What the kit assumed of resources outside the template. */
  readonly assumptions: string[];
  /** The report as text, one line per call, grouped by caller. */
  readonly text: string;
}

/**
 * What `ics-local iam` prints: every call each principal of the pipeline makes and AWS's decision on it, under the
 * template's policies plus a boundary and SCPs of yours, so a platform team sees before deploying whether ICS works
 * inside its guardrails.
 */
export function iamReport(template: CfnTemplate, options: IamReportOptions = {}): IamReport {
  const policies = new TemplatePolicies(template, options);
  const calls = planCalls(template, policies);
  const denied = calls.filter((c) => !c.decision.allowed);
  const lines: string[] = [];
  const byCaller = new Map<string, PlannedCall[]>();
  for (const c of calls) byCaller.set(c.caller, [...byCaller.get(c.caller) ?? [], c]);
  for (const [caller, list] of byCaller) {
    lines.push(caller);
    const seen = new Set<string>();
    for (const c of list) {
      const line = `  ${c.decision.allowed ? 'ALLOW' : 'DENY '} ${c.call.request.action} ${c.call.request.resource}  (${c.where}: ${c.call.description})`;
      if (seen.has(line)) continue;
      seen.add(line);
      lines.push(line);
      if (!c.decision.allowed) lines.push(`        ${denialMessage(c.call.request, c.decision)}`);
    }
  }
  const assumptions = [...policies.assumptions];
  lines.push('', `${calls.length} calls, ${denied.length} denied.`);
  for (const a of assumptions) lines.push(`Assumed: ${a}`);
  lines.push('Not modelled: SCPs and boundaries you do not pass, resource control policies, VPC endpoint policies, service quotas.');
  return { calls, denied, assumptions, text: lines.join('\n') };
}
