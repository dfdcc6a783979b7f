/**
 * The navigation, as data. Each group is a heading in the sidebar; each item a page in routes.tsx.
 * To add a section, add its pages to ROUTES and one line here, as Releases does in "Deliver".
 */
export interface NavItem {
  to: string;
  label: string;
  /** Path prefix that marks the item as current. */
  match: string;
}
export interface NavGroup {
  label: string;
  items: NavItem[];
}

export const NAV: NavGroup[] = [
  {
    label: 'Deliver',
    items: [
      { to: '/flags', label: 'Flags', match: '/flags' },
      { to: '/releases', label: 'Releases', match: '/releases' },
      { to: '/segments', label: 'Segments', match: '/segments' },
      { to: '/playground', label: 'Playground', match: '/playground' },
    ],
  },
  {
    label: 'Observe',
    items: [{ to: '/audit', label: 'Audit log', match: '/audit' }],
  },
  {
    label: 'Configure',
    items: [
      { to: '/projects', label: 'Projects', match: '/projects' },
      { to: '/environments', label: 'Environments', match: '/environments' },
      { to: '/tokens', label: 'API tokens', match: '/tokens' },
    ],
  },
];
