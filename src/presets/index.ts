export * from './bank-security';
export * from './logistics-damage';
export * from './product-tagging';
export * from './school-moderation';
