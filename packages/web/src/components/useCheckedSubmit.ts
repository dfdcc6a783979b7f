import { useState, type FormEvent } from 'react';

/**
 * A form's submit handler: it marks the form as tried (fields then show every error, even on
 * untouched inputs) and runs `save` only when `valid()` holds, else `onInvalid`.
 */
export function useCheckedSubmit(valid: () => boolean, save: () => unknown, onInvalid?: () => void) {
  const [tried, setTried] = useState(false);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setTried(true);
    if (!valid()) {
      onInvalid?.();
      return;
    }
    void save();
  };
  return { tried, submit };
}

/** After a refused submit, moves focus to the first field in the open dialog that says what is wrong (once it has rendered). */
export function focusFirstInvalid() {
  requestAnimationFrame(() => (document.querySelector('dialog [aria-invalid="true"]') as HTMLElement | null)?.focus());
}
