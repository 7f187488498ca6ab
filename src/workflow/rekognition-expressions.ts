import { ErrorName } from '../handlers/errors';
import { MAX_TAGS, TagKey } from '../handlers/object-actions';
import { Outcome, RESULT_SCHEMA_VERSION } from '../outcomes';
import { REKOGNITION_ERROR_NAMES, S3_BASE_EXCEPTION, S3_STATUS_ERROR_NAMES } from '../rekognition';

/**
 * JSONata expressions of the Rekognition classify path. They do in states what the classify function does
 * in code (scale confidences, rank, decide the outcome tag, merge tags, encode the copy source), so that path
 * needs no Lambda. Each mirrors a plain function the handler uses (`rankScores`, `decideOutcome`, `mergeTags`,
 * `copySource`); tests evaluate both on the same inputs.
 */

/** What the result expression needs to know about the pipeline. */
export interface RekognitionResultOptions {
  readonly moderation: boolean;
  readonly threshold: number;
  readonly flaggedLabels: readonly string[];
  readonly topK: number;
  readonly noLabel: string;
  readonly noLabelConfidence: number;
  readonly modelId: string;
  readonly tagObjects: boolean;
  readonly quarantinePrefix?: string;
}

const lit = (value: unknown) => JSON.stringify(value);
/**
 * One line: Step Functions' `{% %}` strings are written multi-line here for reading, but validators (and the
 * console) expect an expression on one line. No string literal in these expressions contains a newline.
 */
const oneLine = (expression: string) => expression.replace(/\s*\n\s*/g, ' ');

/** Adds `s3Object` (Rekognition's S3Object) and `tagRequest` (GetObjectTagging input), each with the version when known. */
export function prepareRequestExpression(): string {
  return oneLine(`(
  $in := $states.input;
  $v := $in.versionId ? $in.versionId : $in.object.\`version-id\`;
  $merge([$in, {
    "s3Object": $merge([{"Bucket": $in.bucket, "Name": $in.key}, $v ? {"Version": $v} : {}]),
    "tagRequest": $merge([{"Bucket": $in.bucket, "Key": $in.key}, $v ? {"VersionId": $v} : {}])
  }])
)`);
}

/**
 * Turns `$.rekognition` (the labels, execution ARN and entry time) into the state the classify function would
 * return: `{ bucket, key, result, actions }`.
 */
export function readResultExpression(o: RekognitionResultOptions): string {
  const candidates = o.moderation
    // Moderation labels come with their ancestors; the top-level category is the result label.
    ? '[$in.rekognition.labels[$not($exists(ParentName)) or ParentName = ""]]'
    : '[$in.rekognition.labels]';
  const ours = lit(Object.values(TagKey));
  const tagging = o.tagObjects ? `
  $tagSet := $append([$in.existingTags.tags[$not(Key in ${ours})]], [
    {"Key": ${lit(TagKey.LABEL)}, "Value": $substring($replace($label, /[^A-Za-z0-9 +=._:\\/@-]/, "_"), 0, 256)},
    {"Key": ${lit(TagKey.CONFIDENCE)}, "Value": $formatNumber($confidence, "0.0000")},
    {"Key": ${lit(TagKey.OUTCOME)}, "Value": $outcome}
  ]);
  $fits := $count($tagSet) <= ${MAX_TAGS};` : '';
  const quarantine = o.quarantinePrefix !== undefined ? `, {"quarantine": {
      "key": ${lit(o.quarantinePrefix)} & $in.key,
      "copySource": $encodeUrlComponent($in.bucket) & "/" & $join($map($split($in.key, "/"), $encodeUrlComponent), "/")
        & ($version ? "?versionId=" & $encodeUrlComponent($version) : "")
    }}` : '';
  return oneLine(`(
  $in := $states.input;
  $sorted := $sort(${candidates}, function($a, $b) { $a.Confidence < $b.Confidence });
  $top := $sorted[0];
  $label := $exists($top) ? $top.Name : ${lit(o.noLabel)};
  $confidence := $exists($top) ? $round($top.Confidence / 100, 4) : ${o.noLabelConfidence};
  $outcome := $confidence < ${o.threshold} ? ${lit(Outcome.LOW_CONFIDENCE)}
    : ($label in ${lit(o.flaggedLabels)} ? ${lit(Outcome.FLAGGED)} : ${lit(Outcome.ACCEPTED)});
  $version := $in.s3Object.Version;${tagging}
  {
    "bucket": $in.bucket,
    "key": $in.key,
    "result": $merge([
      {"schemaVersion": ${lit(RESULT_SCHEMA_VERSION)}, "bucket": $in.bucket, "key": $in.key},
      $version ? {"versionId": $version} : {},
      {
        "label": $label,
        "confidence": $confidence,
        "threshold": ${o.threshold},
        "scores": $merge($append([{}], $sorted.{Name: $round(Confidence / 100, 4)})),
        "topK": [$sorted[[0..${Math.max(1, o.topK) - 1}]].{"label": Name, "score": $round(Confidence / 100, 4)}],
        "modelEndpoint": ${lit(o.modelId)},
        "executionArn": $in.rekognition.executionArn,
        "classifiedAt": $in.rekognition.classifiedAt
      }${o.tagObjects ? ',\n      $fits ? {} : {"tagging": "SKIPPED_TAG_LIMIT"}' : ''}
    ]),
    "actions": $merge([{}${o.tagObjects ? ', $fits ? {"tagSet": $tagSet} : {}' : ''}${quarantine}])
  }
)`);
}

/**
 * After a caught Rekognition or S3 error (`$.error`): when the object was not found under a key that has a
 * different form-decoded spelling (S3 event notifications URL-encode keys form-style), the state without the
 * error, with the decoded key and `retryDecodedKey: true`, to classify again — once, as the classify function's
 * `candidateKeys` does. Otherwise the error renamed to the pipeline's names, the original kept in the cause.
 */
export function nameErrorExpression(fallback: string): string {
  return oneLine(`(
  $in := $states.input;
  $e := $in.error;
  $k := $in.key;
  $status := $e.Error = ${lit(S3_BASE_EXCEPTION)} ? $match($string($e.Cause), /\\(Service: S3, Status Code: ([0-9]{3})/)[0].groups[0];
  $byName := $lookup(${lit(REKOGNITION_ERROR_NAMES)}, $e.Error);
  $name := $exists($byName) ? $byName : ($exists($status) ? $lookup(${lit(S3_STATUS_ERROR_NAMES)}, $status));
  $notFound := $name = ${lit(ErrorName.ObjectNotFound)};
  $decodable := $contains($k, /[+%]/) and $not($contains($replace($k, ${UTF8_ESCAPE}, ""), "%"));
  $decoded := $decodable ? $decodeUrlComponent($replace($k, "+", " ")) : $k;
  $notFound and $not($in.keyDecoded = true) and $decoded != $k
    ? $merge([$sift($in, function($v, $n) { $n != "error" }), {"key": $decoded, "keyDecoded": true, "retryDecodedKey": true}])
    : $merge([$in, {"retryDecodedKey": false, "error": {"Error": $exists($name) ? $name : ${lit(fallback)}, "Cause": $e.Error & ": " & $e.Cause}}])
)`);
}

/**
 * One percent-escaped UTF-8 character (RFC 3629: no overlongs, no surrogates), as a JSONata regex: a key decodes
 * without error exactly when no `%` is left after removing these (JSONata has no try/catch, and a failed
 * `$decodeUrlComponent` would fail the execution instead of naming the error).
 */
const T = '%[89ab][0-9a-f]';
const UTF8_ESCAPE = `/%[0-7][0-9a-f]|%(c[2-9a-f]|d[0-9a-f])${T}|%e0%[ab][0-9a-f]${T}|%(e[1-9a-cef])${T}${T}|%ed%[89][0-9a-f]${T}`
  + `|%f0%[9ab][0-9a-f]${T}${T}|%f[1-3]${T}${T}${T}|%f4%8[0-9a-f]${T}${T}/i`;

