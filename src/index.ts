export * from './actions';
export * from './bulk-mode';
export * from './classifier';
export * from './monitoring-options';
export * from './outcomes';
export * from './pipeline';
export * from './response-format';
