import type { AuditEvent } from '../api';
import { Link } from '../router';
import { Diff } from './Diff';
import { Badge, Time } from './ui';

const TYPE_WORDS: Record<string, string> = {
  'feature-created': 'Flag created',
  'feature-updated': 'Flag settings changed',
  'feature-archived': 'Flag archived',
  'feature-revived': 'Flag revived',
  'feature-deleted': 'Flag deleted',
  'feature-environment-enabled': 'Turned on',
  'feature-environment-disabled': 'Turned off',
  'feature-strategy-added': 'Strategy added',
  'feature-strategy-updated': 'Strategy changed',
  'feature-strategy-removed': 'Strategy removed',
  'feature-variants-updated': 'Variants changed',
  'feature-dependencies-updated': 'Dependencies changed',
  'feature-imported': 'Flag imported',
  'features-imported': 'Flags imported',
  'segment-created': 'Segment created',
  'segment-updated': 'Segment changed',
  'segment-deleted': 'Segment deleted',
  'project-created': 'Project created',
  'project-updated': 'Project changed',
  'project-deleted': 'Project deleted',
  'environment-created': 'Environment created',
  'environment-updated': 'Environment changed',
  'environment-deleted': 'Environment deleted',
  'api-token-created': 'API token created',
  'api-token-deleted': 'API token revoked',
  'release-plan-created': 'Release plan created',
  'release-plan-deleted': 'Release plan deleted',
  'release-started': 'Release started',
  'release-milestone-advanced': 'Release advanced',
  'release-paused': 'Release paused',
  'release-resumed': 'Release resumed',
  'release-rolled-back': 'Release rolled back',
  'release-completed': 'Release completed',
  'release-template-created': 'Release template created',
  'release-template-updated': 'Release template changed',
  'release-template-deleted': 'Release template deleted',
  'sink-created': 'Notification sink added',
  'sink-updated': 'Notification sink changed',
  'sink-deleted': 'Notification sink removed',
};

export const KNOWN_EVENT_TYPES = Object.keys(TYPE_WORDS);

export const describeType = (type: string) => TYPE_WORDS[type] ?? type;

/** Audit events, newest first; each opens to its before/after diff. */
export function EventList({ events, showFlag = true }: { events: AuditEvent[]; showFlag?: boolean }) {
  return (
    <ol className="events">
      {events.map((e) => (
        <li key={e.id}>
          <details>
            <summary>
              <span className="event-what">
                <strong>{describeType(e.type)}</strong> <code className="muted small">{e.type}</code>
              </span>
              {showFlag && e.flag ? (
                <Link to={`/flags/${encodeURIComponent(e.flag)}`} className="mono" onClick={(ev) => ev.stopPropagation()}>
                  {e.flag}
                </Link>
              ) : null}
              {e.environment ? <Badge>{e.environment}</Badge> : null}
              <span className="event-who">
                by <strong>{e.actor}</strong>
              </span>
              <Time iso={e.createdAt} />
            </summary>
            <Diff before={e.before} after={e.after} />
          </details>
        </li>
      ))}
    </ol>
  );
}
