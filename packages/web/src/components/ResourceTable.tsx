import type { ReactNode } from 'react';
import { ConfirmButton, Empty, Loading } from './ui';

export interface Column<T> {
  header: string;
  /** Right-aligned (header and cells). */
  numeric?: boolean;
  /** Class of each cell. */
  className?: string;
  /** Tooltip of each cell. */
  title?: string;
  cell: (row: T) => ReactNode;
}

/**
 * A list of resources as a table, with a last column of row actions. Shows Loading until `rows`
 * arrive (nothing when loading failed: the page shows the problem), and `empty` for no rows.
 */
export function ResourceTable<T>({
  rows,
  failed,
  columns,
  rowKey,
  actions,
  empty,
}: {
  rows: T[] | undefined;
  failed: boolean;
  columns: Column<T>[];
  rowKey: (row: T) => string | number;
  actions: (row: T) => ReactNode;
  /** Without it an empty list is an empty table. */
  empty?: ReactNode;
}) {
  if (!rows) return failed ? null : <Loading />;
  if (rows.length === 0 && empty) return <Empty>{empty}</Empty>;
  return (
    <table className="table">
      <thead>
        <tr>
          {columns.map((c) => (
            <th key={c.header} scope="col" className={c.numeric ? 'num' : undefined}>
              {c.header}
            </th>
          ))}
          <th scope="col">
            <span className="visually-hidden">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={rowKey(row)}>
            {columns.map((c) => (
              <td key={c.header} className={[c.numeric ? 'num' : '', c.className ?? ''].filter(Boolean).join(' ') || undefined} title={c.title}>
                {c.cell(row)}
              </td>
            ))}
            <td className="row-actions">{actions(row)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** A row's Edit button (when `onEdit`) and its delete, confirmed in place. */
export function RowActions({
  onEdit,
  editLabel,
  onDelete,
  deleteText = 'Delete…',
  confirmLabel = 'Delete',
}: {
  onEdit?: () => void;
  /** The Edit button's accessible name, saying which row. */
  editLabel?: string;
  onDelete: () => void;
  deleteText?: string;
  confirmLabel?: string;
}) {
  return (
    <>
      {onEdit ? (
        <button type="button" className="button-secondary small" onClick={onEdit} aria-label={editLabel}>
          Edit
        </button>
      ) : null}
      <ConfirmButton className="button-secondary small" confirmLabel={confirmLabel} onConfirm={onDelete}>
        {deleteText}
      </ConfirmButton>
    </>
  );
}
