export * from './ingestion/ingestion';
export * from './ingestion/queued-ingestion';
