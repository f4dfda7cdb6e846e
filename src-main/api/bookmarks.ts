// Bookmarks: named views of sweeps, kept in the store beside the sweeps they show (and deleted with them).

import type { BookmarkRow, Store } from "../core/store";
import { ApiError, type Bookmark, type NewBookmark } from "../../src-shared/contract";

function toBookmark(r: BookmarkRow): Bookmark {
  return { id: r.id, sweepId: r.sweep_id, name: r.name, view: { cx: r.cx, cy: r.cy, sx: r.sx, sy: r.sy }, createdAt: r.created_at };
}

export function listBookmarks(store: Store): Bookmark[] {
  return store.bookmarks().map(toBookmark);
}

export function addBookmark(store: Store, b: NewBookmark): Bookmark {
  if (!store.sweep(b.sweepId)) throw new ApiError(`cannot bookmark a view of sweep ${b.sweepId}: it is not in this database (deleted?)`);
  return toBookmark(store.addBookmark(b));
}

export function deleteBookmark(store: Store, id: number): void {
  if (!store.bookmarks().some((b) => b.id === id)) throw new ApiError(`no bookmark ${id}: it was deleted already`);
  store.deleteBookmark(id);
}
