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

/**
 * What the numbers in the endpoint's response mean. Results always carry probabilities in [0, 1]: the
 * classify handler checks them, or computes them from logits.
 */
export enum ScoreType {
  /**
   * Probabilities in [0, 1]: softmax outputs, or independent per-label (sigmoid, multi-label) outputs,
   * which need not sum to 1. A score outside [0, 1] (beyond a 1e-6 rounding tolerance) or not a finite
   * number fails the image with `MalformedModelResponse`, e.g. a model answering counts or logits.
   */
  PROBABILITIES = 'PROBABILITIES',
  /**
   * Raw logits of a single-label (softmax) head, e.g. a ResNet's last linear layer. The handler applies
   * a softmax over the class scores, so the probabilities sum to 1 and the top label is unchanged.
   * Needs a positional response format: a label-keyed body cannot be read as logits.
   */
  LOGITS = 'LOGITS',
  /**
   * Raw logits of independent per-label (multi-label, sigmoid) outputs. The handler applies the logistic
   * sigmoid to each score on its own; the probabilities need not sum to 1.
   * Needs a positional response format: a label-keyed body cannot be read as logits.
   */
  MULTI_LABEL_LOGITS = 'MULTI_LABEL_LOGITS',
}
