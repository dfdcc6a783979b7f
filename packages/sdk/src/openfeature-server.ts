/**
 * OpenFeature server provider (`@openfeature/server-sdk`): flags are evaluated in-process by a
 * SwitchyardClient in local mode.
 *
 *   import { OpenFeature } from '@openfeature/server-sdk';
 *   import { SwitchyardProvider } from '@switchyard/sdk/openfeature-server';
 *   await OpenFeature.setProviderAndWait(new SwitchyardProvider({ url, token, appName }));
 */
import {
  ErrorCode,
  OpenFeatureEventEmitter,
  ProviderEvents,
  ProviderFatalError,
  type EvaluationContext,
  type JsonValue,
  type Provider,
  type ResolutionDetails,
  type TrackingEventDetails,
} from '@openfeature/server-sdk';
import { SwitchyardClient as CoreClient, type SwitchyardOptions } from './client.js';
import { outcomeOf, requireStructure, toDetails, toUnleashContext } from './openfeature-common.js';

export { toUnleashContext } from './openfeature-common.js';

export interface ProviderOptions {
  /** Close the client when the provider is closed (default: only when the provider created it). */
  closeClient?: boolean;
  /** Makes the client when options are given (e.g. the Node build's class, for backup files). */
  clientClass?: new (options: SwitchyardOptions) => CoreClient;
}

export class SwitchyardProvider implements Provider {
  readonly metadata = { name: 'switchyard' } as const;
  readonly runsOn = 'server' as const;
  readonly events = new OpenFeatureEventEmitter();
  readonly client: CoreClient;
  private readonly closeClient: boolean;

  constructor(clientOrOptions: CoreClient | SwitchyardOptions, opts: ProviderOptions = {}) {
    const given = clientOrOptions instanceof CoreClient;
    const Client = opts.clientClass ?? CoreClient;
    this.client = given ? clientOrOptions : new Client({ mode: 'local', ...clientOrOptions });
    this.closeClient = opts.closeClient ?? !given;
    this.client.on('changed', (names) => this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: names, metadata: this.client.flagMetadata }));
    this.client.on('stale', ({ reason }) => this.events.emit(ProviderEvents.Stale, { message: reason }));
    this.client.on('recovered', () => this.events.emit(ProviderEvents.Ready, { message: 'fresh again' }));
    this.client.on('error', (err) => {
      if (err.fatal) this.events.emit(ProviderEvents.Error, { message: err.message, errorCode: ErrorCode.PROVIDER_FATAL });
    });
  }

  async initialize(): Promise<void> {
    try {
      await this.client.ready();
    } catch (err) {
      if (this.client.status === 'error') throw new ProviderFatalError((err as Error).message);
      throw err;
    }
  }

  async resolveBooleanEvaluation(flagKey: string, defaultValue: boolean, context: EvaluationContext): Promise<ResolutionDetails<boolean>> {
    return toDetails(this.client.resolveBoolean(flagKey, defaultValue, toUnleashContext(context))) as ResolutionDetails<boolean>;
  }

  async resolveStringEvaluation(flagKey: string, defaultValue: string, context: EvaluationContext): Promise<ResolutionDetails<string>> {
    return toDetails(this.client.resolveString(flagKey, defaultValue, toUnleashContext(context))) as ResolutionDetails<string>;
  }

  async resolveNumberEvaluation(flagKey: string, defaultValue: number, context: EvaluationContext): Promise<ResolutionDetails<number>> {
    return toDetails(this.client.resolveNumber(flagKey, defaultValue, toUnleashContext(context))) as ResolutionDetails<number>;
  }

  async resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T, context: EvaluationContext): Promise<ResolutionDetails<T>> {
    const r = requireStructure(this.client.resolveJson<T>(flagKey, defaultValue, toUnleashContext(context)), defaultValue);
    return toDetails(r) as ResolutionDetails<T>;
  }

  /** `client.track()` → an outcome counter sent with the SDK's metrics. */
  track(trackingEventName: string, _context: EvaluationContext, details?: TrackingEventDetails): void {
    this.client.track(trackingEventName, outcomeOf(details as Record<string, unknown> | undefined));
  }

  async onClose(): Promise<void> {
    if (this.closeClient) await this.client.close();
  }
}
