import { Duration, Token } from 'aws-cdk-lib';
import { ConsoleOptions, ReviewOptions } from './review-options';
import { Outcome } from '../outcomes';

/** What the review validation needs of the resolved props. */
export interface ReviewValidationInput {
  readonly review?: ReviewOptions;
  readonly console?: ConsoleOptions;
  /** Outcomes the decision (and override steps) can produce. */
  readonly occurring: ReadonlySet<Outcome>;
  readonly classLabels?: string[];
  readonly usesFunction: boolean;
  readonly quarantine: boolean;
  readonly auditEnabled: boolean;
  readonly bringsBucket: boolean;
}

/**
 * Class labels the console can carry, as JSON characters. Its function's environment holds them with the pipeline's
 * resource names (buckets, review table, user pool and client IDs) and the metrics settings, and Lambda refuses an
 * environment over 4 KB at deploy: with names at AWS's longest, 2,500 leave room (test/review.test.ts checks it).
 */
export const CONSOLE_MAX_LABELS_ENV_CHARS = 2500;

/** Every problem with `review` and `console`. */
export function validateReview(p: ReviewValidationInput): string[] {
  const problems: string[] = [];
  if (p.console && !p.review) problems.push('console needs review (the console shows and decides the review queue): set review: {} for the defaults');
  if (!p.review) return problems;
  const outcomes = p.review.outcomes ?? [Outcome.LOW_CONFIDENCE];
  if (outcomes.length === 0) problems.push('review.outcomes must name at least one outcome');
  if (outcomes.includes(Outcome.ERROR)) problems.push('review.outcomes cannot include ERROR (an image that could not be classified has no label to review)');
  const never = [...new Set(outcomes.filter((o) => o !== Outcome.ERROR && !p.occurring.has(o)))];
  if (never.length > 0) {
    const why: Record<string, string> = {
      [Outcome.FLAGGED]: 'no label is flagged',
      [Outcome.ACCEPTED]: 'every class label is flagged',
      [Outcome.LOW_CONFIDENCE]: 'confidenceThreshold is 0',
    };
    problems.push(`review.outcomes: ${never.join(', ')} never occurs (${never.map((o) => why[o]).join('; ')})`);
  }
  const age = p.review.maxPendingAge;
  if (age && !age.isUnresolved() && age.toMilliseconds() < Duration.minutes(5).toMilliseconds()) {
    problems.push(`review.maxPendingAge must be at least 5 minutes (pending reviews are measured every 5 minutes), got ${age.toHumanString()}`);
  }
  if (p.quarantine && !p.usesFunction) {
    problems.push('review with quarantine needs a SageMaker classifier: a released image is recognized by the classify function '
      + '(its metadata), which a Rekognition classifier does not have');
  }
  // Cognito group names: 1 to 128 letters, marks, symbols, digits or punctuation (no spaces).
  const groupName = /^[\p{L}\p{M}\p{S}\p{N}\p{P}]{1,128}$/u;
  const groupNames = [p.review.reviewersGroupName, p.console?.viewersGroupName].filter((g): g is string => g !== undefined && !Token.isUnresolved(g));
  for (const g of groupNames) if (!groupName.test(g)) problems.push(`group names must be 1 to 128 characters without spaces (Cognito's rule), got "${g}"`);
  if ((p.review.reviewersGroupName ?? 'reviewers') === (p.console?.viewersGroupName ?? 'viewers')) {
    problems.push('review.reviewersGroupName and console.viewersGroupName must differ');
  }
  if (p.console) {
    if (!p.auditEnabled) problems.push('console needs the audit trail: decisions are written as a feedback manifest under feedback/ in the audit bucket');
    const labels = (p.classLabels ?? []).filter((l) => !Token.isUnresolved(l));
    if (labels.length === 0) problems.push('console needs classLabels: a reviewer confirms or corrects a label among them');
    const labelChars = JSON.stringify(labels).length;
    if (labelChars > CONSOLE_MAX_LABELS_ENV_CHARS) {
      problems.push(`console: classLabels are too long for the console function's environment (${labelChars} characters as JSON; `
        + `at most ${CONSOLE_MAX_LABELS_ENV_CHARS} fit beside the resource names in Lambda's 4 KB)`);
    }
    if (p.console.uploads === true && p.bringsBucket) {
      problems.push('console.uploads with a bucket you bring: the browser PUTs to the bucket, which needs a CORS rule for the console\'s origin; '
        + 'add one and leave uploads unset, or let the pipeline create the bucket');
    }
    for (const origin of p.console.allowedOrigins ?? []) {
      if (Token.isUnresolved(origin)) continue;
      if (origin === '*' || !/^https:\/\/[^/*]+$/.test(origin)) problems.push(`console.allowedOrigins must be https origins without paths or wildcards, got "${origin}"`);
    }
  }
  return problems;
}
