/**
 * The body shapes a classifier endpoint may answer with. The classify handler turns each into one
 * score per class label, in `classLabels` order.
 */
export enum ResponseFormat {
  /**
   * Detect the shape from the body: any of the formats below.
   */
  AUTO = 'AUTO',
  /**
   * SageMaker built-in image-classification algorithm: `{"prediction": [p0, p1, ...]}`.
   */
  SAGEMAKER_IMAGE_CLASSIFICATION = 'SAGEMAKER_IMAGE_CLASSIFICATION',
  /**
   * A bare JSON array of probabilities: `[p0, p1, ...]`.
   */
  PROBABILITY_ARRAY = 'PROBABILITY_ARRAY',
  /**
   * `{"probabilities": [p0, p1, ...]}`.
   */
  PROBABILITIES_OBJECT = 'PROBABILITIES_OBJECT',
  /**
   * TensorFlow Serving's predict API: `{"predictions": [[p0, p1, ...]]}` (first instance is used).
   */
  TENSORFLOW_SERVING = 'TENSORFLOW_SERVING',
  /**
   * Scores keyed by label, as Hugging Face containers return: `{"cat": 0.9, "dog": 0.1}` or
   * `[{"label": "cat", "score": 0.9}, ...]`. Labels the model does not mention score 0.
   */
  LABEL_SCORES = 'LABEL_SCORES',
}
