/* eslint-disable import/no-extraneous-dependencies */
import { InvokeEndpointCommand, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';

/** Reference design, step 2 of 3: decode the image from the state and send it to the endpoint. */
// Hard-coded, as the reference systems do.
const ENDPOINT = 'vehicles';
const runtime = new SageMakerRuntimeClient({});

export interface ClassifyEvent {
  readonly image_data: string;
  readonly s3_bucket: string;
  readonly s3_key: string;
  readonly inferences: number[];
}

export async function handler(event: ClassifyEvent) {
  const image = Buffer.from(event.image_data, 'base64');
  const response = await runtime.send(new InvokeEndpointCommand({ EndpointName: ENDPOINT, ContentType: 'image/png', Body: image }));
  const body = JSON.parse(Buffer.from(response.Body!).toString('utf8'));
  // The image stays in the state for the next step, as in the reference systems.
  return { ...event, inferences: (body.prediction ?? body) as number[] };
}
