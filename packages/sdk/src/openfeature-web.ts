/**
 * OpenFeature web provider (`@openfeature/web-sdk`). By default the client runs in remote mode
 * (frontend token: the server evaluates for the static context, refetched on context changes and
 * on `changed` events of the frontend stream); a local-mode client can be passed instead.
 *
 *   import { OpenFeature } from '@openfeature/web-sdk';
 *   import { SwitchyardWebProvider } from '@switchyard/sdk/openfeature-web';
 *   await OpenFeature.setProviderAndWait(new SwitchyardWebProvider({ url, token: frontendToken, appName }));
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
} from '@openfeature/web-sdk';
import { SwitchyardClient as CoreClient, type SwitchyardOptions } from './client.js';
import { outcomeOf, requireStructure, toDetails, toUnleashContext } from './openfeature-common.js';

export { toUnleashContext } from './openfeature-common.js';

export interface WebProviderOptions {
  /** Close the client when the provider is closed (default: only when the provider created it). */
  closeClient?: boolean;
}

export class SwitchyardWebProvider implements Provider {
  readonly metadata = { name: 'switchyard' } as const;
  readonly runsOn = 'client' as const;
  readonly events = new OpenFeatureEventEmitter();
  readonly client: CoreClient;
  private readonly closeClient: boolean;

  constructor(clientOrOptions: CoreClient | SwitchyardOptions, opts: WebProviderOptions = {}) {
    const given = clientOrOptions instanceof CoreClient;
    this.client = given ? clientOrOptions : new CoreClient({ mode: 'remote', ...clientOrOptions });
    this.closeClient = opts.closeClient ?? !given;
    this.client.on('changed', (names) => this.events.emit(ProviderEvents.ConfigurationChanged, { flagsChanged: names, metadata: this.client.flagMetadata }));
    this.client.on('stale', ({ reason }) => this.events.emit(ProviderEvents.Stale, { message: reason }));
    this.client.on('recovered', () => this.events.emit(ProviderEvents.Ready, { message: 'fresh again' }));
    this.client.on('error', (err) => {
      if (err.fatal) this.events.emit(ProviderEvents.Error, { message: err.message, errorCode: ErrorCode.PROVIDER_FATAL });
    });
  }

  async initialize(context?: EvaluationContext): Promise<void> {
    try {
      if (context && Object.keys(context).length) await this.client.updateContext(toUnleashContext(context), { replace: true });
      await this.client.ready();
    } catch (err) {
      if (this.client.status === 'error') throw new ProviderFatalError((err as Error).message);
      throw err;
    }
  }

  /** The static context changed: remote mode fetches the flags for it (the SDK shows RECONCILING meanwhile). */
  async onContextChange(_oldContext: EvaluationContext, newContext: EvaluationContext): Promise<void> {
    await this.client.updateContext(toUnleashContext(newContext), { replace: true });
  }

  resolveBooleanEvaluation(flagKey: string, defaultValue: boolean, context: EvaluationContext): ResolutionDetails<boolean> {
    return toDetails(this.client.resolveBoolean(flagKey, defaultValue, this.ctx(context))) as ResolutionDetails<boolean>;
  }

  resolveStringEvaluation(flagKey: string, defaultValue: string, context: EvaluationContext): ResolutionDetails<string> {
    return toDetails(this.client.resolveString(flagKey, defaultValue, this.ctx(context))) as ResolutionDetails<string>;
  }

  resolveNumberEvaluation(flagKey: string, defaultValue: number, context: EvaluationContext): ResolutionDetails<number> {
    return toDetails(this.client.resolveNumber(flagKey, defaultValue, this.ctx(context))) as ResolutionDetails<number>;
  }

  resolveObjectEvaluation<T extends JsonValue>(flagKey: string, defaultValue: T, context: EvaluationContext): ResolutionDetails<T> {
    return toDetails(requireStructure(this.client.resolveJson<T>(flagKey, defaultValue, this.ctx(context)), defaultValue)) as ResolutionDetails<T>;
  }

  track(trackingEventName: string, _context: EvaluationContext, details?: TrackingEventDetails): void {
    this.client.track(trackingEventName, outcomeOf(details as Record<string, unknown> | undefined));
  }

  async onClose(): Promise<void> {
    if (this.closeClient) await this.client.close();
  }

  /** Local mode evaluates with the context; remote mode already has the server's answers for it. */
  private ctx(context: EvaluationContext) {
    return this.client.mode === 'local' ? toUnleashContext(context) : undefined;
  }
}
