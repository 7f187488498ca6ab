import { ErrorName } from './handlers/errors';

/**
 * Top-level (L1) categories of Amazon Rekognition's content moderation taxonomy (model version 7). The
 * moderation classifier reports the top-level category of what it found, so these are its labels.
 */
export enum ModerationCategory {
  /** Explicit nudity and sexual activity. */
  EXPLICIT = 'Explicit',
  /** Non-explicit nudity of intimate parts, and kissing. */
  NON_EXPLICIT_NUDITY = 'Non-Explicit Nudity of Intimate parts and Kissing',
  /** Swimwear or underwear. */
  SWIMWEAR_OR_UNDERWEAR = 'Swimwear or Underwear',
  /** Violence: weapons, physical violence, self-harm. */
  VIOLENCE = 'Violence',
  /** Visually disturbing content: blood, corpses, crashes. */
  VISUALLY_DISTURBING = 'Visually Disturbing',
  /** Drugs and tobacco. */
  DRUGS_AND_TOBACCO = 'Drugs & Tobacco',
  /** Alcohol. */
  ALCOHOL = 'Alcohol',
  /** Rude gestures. */
  RUDE_GESTURES = 'Rude Gestures',
  /** Gambling. */
  GAMBLING = 'Gambling',
  /** Hate symbols. */
  HATE_SYMBOLS = 'Hate Symbols',
}

/** The label recorded when DetectModerationLabels finds nothing at or above the minimum confidence. */
export const MODERATION_SAFE_LABEL = 'Safe';
/** The label recorded when DetectLabels returns nothing at or above the minimum confidence. */
export const UNLABELED = 'Unlabeled';

/**
 * Rekognition's image limits for S3 objects (Guidelines and quotas in Amazon Rekognition): JPEG or PNG,
 * at most 15 MB, at least 80 pixels on each side.
 */
export const REKOGNITION_IMAGE_LIMITS = {
  formats: ['jpeg', 'png'] as readonly string[],
  maxBytes: 15 * 1024 * 1024,
  minPixels: 80,
};

/**
 * Rekognition and S3 errors, as the Step Functions AWS SDK integration names them, mapped to the pipeline's error
 * names (an unmodelled S3 error by its HTTP status, {@link S3_STATUS_ERROR_NAMES}); anything else after retries is
 * `EndpointUnavailable`. Step Functions names these errors
 * `<Service>.<Name>` and appends `Exception` when the service's name lacks it (S3's `NoSuchKey` arrives as
 * `S3.NoSuchKeyException`), so only such names can match. Rekognition reads the image itself (a missing or
 * unreadable object is its `InvalidS3ObjectException`); S3 errors come from reading the object's tags.
 */
export const REKOGNITION_ERROR_NAMES: Record<string, string> = {
  'Rekognition.InvalidImageFormatException': ErrorName.UnsupportedImageFormat,
  'Rekognition.ImageTooLargeException': ErrorName.ImageTooLarge,
  'Rekognition.InvalidS3ObjectException': ErrorName.ObjectNotFound,
  'Rekognition.InvalidParameterException': ErrorName.EndpointValidationError,
  'Rekognition.AccessDeniedException': ErrorName.EndpointValidationError,
  'Rekognition.ThrottlingException': ErrorName.EndpointThrottled,
  'Rekognition.ProvisionedThroughputExceededException': ErrorName.EndpointThrottled,
  'S3.NoSuchKeyException': ErrorName.ObjectNotFound,
  'S3.AccessDeniedException': ErrorName.ObjectAccessDenied,
};

/**
 * An S3 error the S3 model does not define (`SlowDown`, `InternalError`, `ServiceUnavailable`, an unmodelled
 * `AccessDenied`) arrives as `S3.S3Exception` (LocalStack `error_handling/test_aws_sdk.snapshot.json`, recorded on
 * AWS: unmodelled errors take the SDK's base class name), its HTTP status only in the cause:
 * `<message> (Service: S3, Status Code: 403, Request ID: ...)`.
 */
export const S3_BASE_EXCEPTION = 'S3.S3Exception';
/** `S3.S3Exception` named by the HTTP status in its cause, as the classify function names S3 errors; other statuses are unknown errors. */
export const S3_STATUS_ERROR_NAMES: Record<string, string> = {
  403: ErrorName.ObjectAccessDenied,
  404: ErrorName.ObjectNotFound,
  500: ErrorName.S3Unavailable,
  503: ErrorName.S3Unavailable,
};

/** Rekognition errors worth retrying before the image is declared ERROR (`InternalServerError` gets its `Exception` suffix). */
export const REKOGNITION_TRANSIENT_ERRORS = [
  'Rekognition.ThrottlingException',
  'Rekognition.ProvisionedThroughputExceededException',
  'Rekognition.InternalServerErrorException',
  'Rekognition.SdkClientException',
];
