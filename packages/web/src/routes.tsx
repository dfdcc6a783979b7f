import type { ReactNode } from 'react';
import { FlagsPage } from './pages/Flags';
import { FlagPage } from './pages/Flag';
import { SegmentsPage } from './pages/Segments';
import { ProjectsPage } from './pages/Projects';
import { EnvironmentsPage } from './pages/Environments';
import { TokensPage } from './pages/Tokens';
import { AuditPage } from './pages/Audit';
import { PlaygroundPage } from './pages/Playground';
import { ReleasesPage } from './pages/Releases';
import { ReleasePage } from './pages/Release';

export interface RouteDef {
  path: string;
  render: (params: Record<string, string>) => ReactNode;
}

/** Every page of the app; a new section adds its routes here and its link in nav.ts. */
export const ROUTES: RouteDef[] = [
  { path: '/flags', render: () => <FlagsPage /> },
  { path: '/flags/:name', render: (p) => <FlagPage name={p.name} /> },
  { path: '/releases', render: () => <ReleasesPage /> },
  { path: '/releases/:id', render: (p) => <ReleasePage id={p.id} /> },
  { path: '/segments', render: () => <SegmentsPage /> },
  { path: '/projects', render: () => <ProjectsPage /> },
  { path: '/environments', render: () => <EnvironmentsPage /> },
  { path: '/tokens', render: () => <TokensPage /> },
  { path: '/audit', render: () => <AuditPage /> },
  { path: '/playground', render: () => <PlaygroundPage /> },
];
