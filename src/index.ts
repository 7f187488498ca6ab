export * from './actions';
export * from './bulk-mode';
export * from './classifier';
export { MonitoringOptions } from './monitoring';
export * from './outcomes';
export * from './pipeline';
export * from './response-format';
