// @switchyard/sdk: the app-side client (streaming sync, bootstrap, backup, metrics) lands with the
// real-time delivery issue. Until then it re-exports the engine so apps can evaluate locally.
export * from '@switchyard/engine';
