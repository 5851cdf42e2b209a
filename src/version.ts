declare const MESHSEED_VERSION: string;
/** Injected by the build from package.json. */
export const VERSION: string = typeof MESHSEED_VERSION === 'string' ? MESHSEED_VERSION : '0.0.0-dev';
