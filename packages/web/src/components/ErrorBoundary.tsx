import { Component, type ErrorInfo, type ReactNode } from 'react';

/**
 * Catches a render error so the rest of the app stays usable: the page says what happened in one
 * sentence and offers a way on. The stack goes to the console for developers, never to the page.
 */
export class ErrorBoundary extends Component<{ children: ReactNode; resetKey?: string }, { error: Error | null }> {
  override state: { error: Error | null } = { error: null };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  override componentDidCatch(error: Error, info: ErrorInfo) {
    console.error('UI error', error, info.componentStack);
  }

  override componentDidUpdate(prev: { resetKey?: string }) {
    if (prev.resetKey !== this.props.resetKey && this.state.error) this.setState({ error: null });
  }

  override render() {
    if (!this.state.error) return this.props.children;
    return (
      <div className="page">
        <div className="problem" role="alert">
          <div>
            <strong>This page ran into a problem and could not be shown.</strong>
            <p>{this.state.error.message || 'An unexpected error happened.'} Your changes that were saved are safe; reloading usually helps.</p>
            <p className="actions">
              <button type="button" onClick={() => window.location.reload()}>
                Reload the page
              </button>
              <a className="button-secondary" href="/flags">
                Go to flags
              </a>
            </p>
          </div>
        </div>
      </div>
    );
  }
}
