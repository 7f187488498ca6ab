import { ErrorName } from '../handlers/errors';
import { Outcome } from '../outcomes';

/**
 * JSONata expression of the alert texts a person reads (email and SMS) and of the alert subject. Machine subscribers
 * (`default`, hence SQS, Lambda, HTTP/S, Firehose) keep the result JSON, built with `States.JsonToString` in the
 * workflow; only the texts are built here. They are JSONata rather than intrinsic functions because intrinsics can
 * neither scale a confidence to a percentage nor remove the characters a subject may not contain, and they are
 * states rather than classify-function code because ERROR results from catch paths (and every Rekognition result)
 * never pass through the function.
 */

/**
 * SNS `Publish` Subject: "no line breaks or control characters, and less than 100 characters long" (Amazon SNS API
 * Reference, Publish, Request Parameters, Subject). Subjects here are also printable ASCII beginning with a letter,
 * the older, stricter wording of that rule; SNS replaces a subject with non-ASCII characters by an error text for
 * email subscribers (Amazon Managed Service for Prometheus User Guide, "Understanding Amazon SNS message validation
 * rules").
 */
export const MAX_SUBJECT_LENGTH = 99;

/** Longest label or error name quoted in a subject, so the key (its end, the file name) keeps some room. */
const MAX_SUBJECT_NAME = 40;

/** Longest error cause quoted in an email: causes may quote model bodies and stack traces. */
const MAX_EMAIL_CAUSE = 1000;

/** Longest key quoted in an SMS: SNS sends at most 1,600 characters per SMS publish (Publish, Message). */
const MAX_SMS_KEY = 200;

/** What to do about each error, for the email text of an ERROR alert. */
export const ERROR_ADVICE: Record<string, string> = {
  [ErrorName.InvalidInput]: 'Start executions with a string "bucket" and "key"; check the rule or caller that started this one.',
  [ErrorName.ObjectNotFound]: 'The object was deleted or renamed before it was read. Upload it again if it should be classified.',
  [ErrorName.ObjectAccessDenied]: 'Let the pipeline read the object (bucket policy, KMS key policy, input prefix), then upload it again.',
  [ErrorName.EmptyObject]: 'The upload has zero bytes. Upload the image again.',
  [ErrorName.ImageTooLarge]: 'Upload a smaller image, or raise maxImageSize within the endpoint\'s payload limit.',
  [ErrorName.UnsupportedImageFormat]: 'The file is not an image in a supported format (JPEG, PNG, GIF, WebP, BMP, TIFF). Upload the image in one of them.',
  [ErrorName.TruncatedImage]: 'The upload was cut off. Upload the image again.',
  [ErrorName.MalformedModelResponse]: 'The model answered in a format the pipeline does not read: check the model\'s output against the pipeline\'s classifier settings.',
  [ErrorName.LabelCountMismatch]: 'The model returns a different number of scores than classLabels has: make them match.',
  [ErrorName.ModelError]: 'The model failed on this image: see the endpoint\'s CloudWatch logs.',
  [ErrorName.EndpointValidationError]: 'Check that the endpoint exists, is InService and accepts the request.',
  [ErrorName.ModelNotReady]: 'A transient failure outlasted the retries. Upload the image again once the endpoint is healthy.',
  [ErrorName.EndpointThrottled]: 'A transient failure outlasted the retries. Upload the image again, or give the endpoint more capacity.',
  [ErrorName.EndpointUnavailable]: 'A transient failure outlasted the retries. Upload the image again once the endpoint is healthy.',
  [ErrorName.S3Unavailable]: 'A transient failure outlasted the retries. Upload the image again.',
  ActionFailed: 'An action failed after retries: check the state machine role\'s permissions and the target bucket or table. The image was classified but the action did not happen.',
  StepFailed: 'One of your own workflow steps failed after its retries: see the cause, and the step\'s logs.',
};

const DEFAULT_ADVICE = 'See the execution in the Step Functions console for details.';

const lit = (value: unknown) => JSON.stringify(value);
/** One line: validators expect a `{% %}` expression on one line; no string literal here contains a newline. */
const oneLine = (expression: string) => expression.replace(/\s*\n\s*/g, ' ');

/** What the alert text expression needs to know. */
export interface AlertTextOptions {
  /** The outcome the alert is about (each routed outcome has its own state). */
  readonly outcome: Outcome;
  /** The console's address; the email links an image's review page when it has one. @default no link */
  readonly consoleUrl?: string;
}

/**
 * The state with `alert: { subject, email, sms }` added, from `$.result` (and `$.review.id` for the console link).
 * The subject is `<OUTCOME>: <label> <confidence>% - <key>` (ERROR: `ERROR: <error name> - <key>`; a result whose every
 * label scored 0, e.g. a detector that saw nothing, reads "no label", not the first label of the tie): every character
 * outside printable ASCII becomes `?`, and a subject over {@link MAX_SUBJECT_LENGTH} characters keeps the key's end.
 */
export function alertTextExpression(o: AlertTextOptions): string {
  const error = o.outcome === Outcome.ERROR;
  const subjectName = error ? '$r.error.name' : '$label & " " & $pct($r.confidence)';
  const what = error ? `
    "ERROR: the image could not be classified.",
    "",
    "Error:       " & $r.error.name & ($r.error.action ? " (" & $r.error.action & ")") & ($r.error.step ? " (step " & $r.error.step & ")"),
    "Cause:       " & $clip($r.error.cause, ${MAX_EMAIL_CAUSE}),
    "What to do:  " & $advice($r.error.name),` : `
    ${lit(o.outcome)} & ": " & $label & " with " & $pct($r.confidence) & " confidence (threshold " & $pct($r.threshold) & ").",
    ${lit(outcomeMeaning(o.outcome))},
    "",
    $r.topK ? "Top labels:  " & $join($r.topK.($string(label) & " " & $pct(score)), ", "),`;
  const review = o.consoleUrl
    ? `$in.review.id ? "Review:      " & ${lit(o.consoleUrl)} & "/#/reviews/" & $in.review.id,`
    : '';
  const sms = error ? '"ERROR: " & $r.error.name' : `${lit(o.outcome)} & ": " & $label & " " & $pct($r.confidence) & " (threshold " & $pct($r.threshold) & ")"`;
  return oneLine(`(
  $in := $states.input;
  $r := $in.result;
  $label := $r.confidence = 0 ? "no label" : $r.label;
  $pct := function($c) { $formatNumber($c * 100, "0.#") & "%" };
  $ascii := function($s) { $replace($string($s), /[^ -~]+/, "?") };
  $clip := function($s, $n) { $length($s) > $n ? $substring($s, 0, $n) & "..." : $s };
  $tail := function($s, $n) { $length($s) > $n ? "..." & $substring($s, $length($s) - ($n - 3)) : $s };
  $advice := function($name) { ($a := $lookup(${lit(ERROR_ADVICE)}, $name); $exists($a) ? $a : ${lit(DEFAULT_ADVICE)}) };
  $json := function($s) { ($a := $string([$s]); $substring($a, 1, $length($a) - 2)) };
  $quoted := function($k) { $contains($k, /[\\x00-\\x1f\\x7f]/) ? $json($k) : $k };
  $shown := function($k) { $quoted($k) = $k ? $k : $quoted($k) & " (JSON-quoted: the key has control characters)" };
  $hasKey := $type($r.key) = "string";
  $where := $hasKey ? "s3://" & $r.bucket & "/" & $shown($r.key);
  $head := ${lit(o.outcome)} & ": " & $clip($ascii(${subjectName}), ${MAX_SUBJECT_NAME});
  $room := ${MAX_SUBJECT_LENGTH} - $length($head) - 3;
  $subject := $hasKey ? $head & " - " & $tail($ascii($r.key), $room) : $head;
  $email := $join([${what}
    "Image:       " & ($hasKey ? $where : "(no bucket and key in the execution input)"),
    $r.versionId ? "Version:     " & $r.versionId,
    $r.quarantine ? "Quarantined: s3://" & $r.quarantine.bucket & "/" & $shown($r.quarantine.key),
    ${review}
    "When:        " & $r.classifiedAt,
    "Execution:   " & $r.executionArn,
    "Model:       " & $r.modelEndpoint,
    "",
    "Queue, Lambda and HTTP subscribers of this topic receive the result as JSON."
  ], "\\n");
  $sms := ${sms} & ($hasKey ? " - s3://" & $r.bucket & "/" & $tail($quoted($r.key), ${MAX_SMS_KEY})) & " " & $r.classifiedAt;
  $merge([$in, {"alert": {"subject": $subject, "email": $email, "sms": $sms}}])
)`);
}

/** One sentence on what the outcome means for whoever reads the alert. */
function outcomeMeaning(outcome: Outcome): string {
  switch (outcome) {
    case Outcome.FLAGGED: return 'The label is one the pipeline flags: look at the image and act on it.';
    case Outcome.LOW_CONFIDENCE: return 'The model is not sure what the image shows: look at it and decide by hand.';
    default: return 'The label is not one the pipeline flags.';
  }
}
