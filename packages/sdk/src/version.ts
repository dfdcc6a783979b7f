/** The SDK's version, sent as `unleash-sdk: switchyard-sdk:<version>` (kept equal to package.json by a test). */
export const SDK_VERSION = '0.1.0';
export const SDK_NAME = `switchyard-sdk:${SDK_VERSION}`;
