import type { ReactNode } from 'react';
import type { ApiError } from '../api';
import { ProblemMessage } from './ui';

/** The end of a form: the server's refusal in words, the submit button (busy while it runs), any extra buttons, Cancel. */
export function FormFooter({
  action,
  submitLabel,
  pendingLabel = 'Saving…',
  onCancel,
  children,
}: {
  action: { pending: boolean; error: ApiError | undefined };
  submitLabel: string;
  pendingLabel?: string;
  onCancel: () => void;
  /** Buttons between submit and Cancel. */
  children?: ReactNode;
}) {
  return (
    <>
      <ProblemMessage error={action.error} />
      <div className="actions">
        <button type="submit" disabled={action.pending}>
          {action.pending ? pendingLabel : submitLabel}
        </button>
        {children}
        <button type="button" className="button-secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </>
  );
}
