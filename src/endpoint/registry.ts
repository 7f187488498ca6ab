/**
 * Accounts of the ECR registries that hold the SageMaker built-in image-classification algorithm
 * (`image-classification:1`), by region. From the SageMaker Python SDK's `image_uri_config/image-classification.json`.
 * Internal: not part of the jsii surface.
 */
export const IMAGE_CLASSIFICATION_REGISTRY_ACCOUNTS: Readonly<Record<string, string>> = {
  'ap-east-1': '286214385809',
  'ap-northeast-1': '501404015308',
  'ap-northeast-2': '306986355934',
  'ap-south-1': '991648021394',
  'ap-southeast-1': '475088953585',
  'ap-southeast-2': '544295431143',
  'ca-central-1': '469771592824',
  'cn-north-1': '390948362332',
  'cn-northwest-1': '387376663083',
  'eu-central-1': '813361260812',
  'eu-north-1': '669576153137',
  'eu-west-1': '685385470294',
  'eu-west-2': '644912444149',
  'eu-west-3': '749696950732',
  'me-south-1': '249704162688',
  'sa-east-1': '855470959533',
  'us-east-1': '811284229777',
  'us-east-2': '825641698319',
  'us-gov-west-1': '226302683700',
  'us-west-1': '632365934929',
  'us-west-2': '433757028032',
};

/** Repository and tag of the built-in image-classification algorithm. */
export const IMAGE_CLASSIFICATION_REPOSITORY = 'image-classification';
export const IMAGE_CLASSIFICATION_TAG = '1';
/** Request Content-Type the built-in algorithm accepts for raw image bytes. */
export const IMAGE_CLASSIFICATION_CONTENT_TYPE = 'application/x-image';
