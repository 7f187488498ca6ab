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
 * names; anything else after retries is `EndpointUnavailable`. Step Functions names these errors
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

/** Rekognition errors worth retrying before the image is declared ERROR (`InternalServerError` gets its `Exception` suffix). */
export const REKOGNITION_TRANSIENT_ERRORS = [
  'Rekognition.ThrottlingException',
  'Rekognition.ProvisionedThroughputExceededException',
  'Rekognition.InternalServerErrorException',
  'Rekognition.SdkClientException',
];
