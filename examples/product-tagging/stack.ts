import { Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { ProductTaggingPipeline } from '../../src';

/** A shop's catalogue photos tagged by category with Rekognition; unsure ones wait under review/. */
export class ProductTaggingStack extends Stack {
  public readonly pipeline: ProductTaggingPipeline;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);
    this.pipeline = new ProductTaggingPipeline(this, 'Catalogue', { categories: ['Shoe', 'Handbag', 'Dress', 'Watch', 'Sunglasses'] });
  }
}
