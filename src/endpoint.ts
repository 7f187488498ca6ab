export * from './endpoint/classifier-endpoint';
export * from './endpoint/container-image';
export * from './endpoint/hosting';
export * from './endpoint/model-data';
export * from './endpoint/props';
