/**
 * Stable error names the classify handler throws. Step Functions matches them in `Retry`/`Catch`
 * (the Lambda runtime reports `error.name` as the error type), and they appear in ERROR results
 * and alerts, so renaming one is a breaking change.
 */
export const ErrorName = {
  /** The state input has no string `bucket` and `key`. */
  InvalidInput: 'InvalidInput',
  /** The object (or the given version) does not exist, under the raw or URL-decoded key. */
  ObjectNotFound: 'ObjectNotFound',
  /** S3 refused the read (bucket policy, KMS key policy, prefix outside the grant). */
  ObjectAccessDenied: 'ObjectAccessDenied',
  /** The object has zero bytes. */
  EmptyObject: 'EmptyObject',
  /** The object is larger than the configured maximum image size. */
  ImageTooLarge: 'ImageTooLarge',
  /** The bytes are not JPEG, PNG, GIF, WebP, BMP or TIFF (e.g. text named `.jpg`). */
  UnsupportedImageFormat: 'UnsupportedImageFormat',
  /** The bytes start like an image but end early (upload cut off). */
  TruncatedImage: 'TruncatedImage',
  /**
   * The endpoint answered with a body that is not one of the understood response formats, or with a score
   * that is not finite or (for probabilities) outside [0, 1], e.g. counts or unconverted logits.
   */
  MalformedModelResponse: 'MalformedModelResponse',
  /** The endpoint returned a different number of scores than there are class labels. */
  LabelCountMismatch: 'LabelCountMismatch',
  /** The model container failed on this input (SageMaker `ModelError`, HTTP 424). */
  ModelError: 'ModelError',
  /** The endpoint does not exist or the request was rejected as invalid (SageMaker `ValidationError`). */
  EndpointValidationError: 'EndpointValidationError',
  /** Transient: the endpoint's model is still loading (`ModelNotReadyException`). */
  ModelNotReady: 'ModelNotReady',
  /** Transient: SageMaker throttled the invocation. */
  EndpointThrottled: 'EndpointThrottled',
  /** Transient: SageMaker 5xx (`InternalFailure`, `ServiceUnavailable`, ...) or the endpoint was unreachable. */
  EndpointUnavailable: 'EndpointUnavailable',
  /** Transient: S3 5xx/SlowDown or a network failure while reading the object. */
  S3Unavailable: 'S3Unavailable',
} as const;

export type ErrorNameValue = (typeof ErrorName)[keyof typeof ErrorName];

/** Errors worth retrying with backoff before the image is declared ERROR. */
export const TRANSIENT_ERRORS: readonly string[] = [
  ErrorName.ModelNotReady,
  ErrorName.EndpointThrottled,
  ErrorName.EndpointUnavailable,
  ErrorName.S3Unavailable,
];

/** An error with a stable `name` from {@link ErrorName}. */
export class ClassificationError extends Error {
  constructor(name: ErrorNameValue, message: string) {
    super(message);
    this.name = name;
  }
}

/** Shortens text quoted in error messages (model bodies, keys) so errors stay readable and small. */
export function truncateForMessage(text: string, max = 200): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} chars)`;
}
