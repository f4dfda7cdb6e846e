// Bookmarks: named views kept in the database (api.addBookmark), listed for every sweep; one click opens the sweep's
// tree at that view, as its ?sweep=&view= link does.

import { useEffect, useState } from "react";
import type { Bookmark } from "../../src-shared/contract";
import { openSweep, pushNotice, useUi } from "../state";

export function Bookmarks() {
  const api = useUi((s) => s.api);
  const focusId = useUi((s) => s.focusId);
  const sweeps = useUi((s) => s.sweeps);
  // Which sweeps exist, not their progress: a streaming sweep updates `sweeps` many times a second.
  const ids = useUi((s) => Object.keys(s.sweeps).sort().join("\n"));
  const [list, setList] = useState<Bookmark[]>([]);
  const [name, setName] = useState("");
  const reload = async () => { if (api) setList(await api.listBookmarks()); };
  useEffect(() => { void reload(); }, [api, ids]); // a deleted sweep takes its bookmarks with it
  const keep = async () => {
    const { view } = useUi.getState();
    if (!api || !focusId || !view || !name.trim()) return;
    try {
      await api.addBookmark({ sweepId: focusId, name: name.trim(), view });
      setName("");
      await reload();
    } catch (e) {
      pushNotice(`could not keep the bookmark: ${(e as Error).message}`, "error");
    }
  };
  const remove = async (id: number) => {
    await api!.deleteBookmark(id).catch((e: Error) => pushNotice(e.message, "error"));
    await reload();
  };
  return (
    <div className="bookmarks" data-testid="bookmarks">
      <div className="bookmark-new">
        <input data-testid="bookmark-name" placeholder="name this view" value={name} onChange={(e) => setName(e.target.value)}
          onKeyDown={(e) => { if (e.key === "Enter") void keep(); }} />
        <button data-testid="bookmark-keep" disabled={!name.trim() || !focusId} onClick={() => void keep()}>keep</button>
      </div>
      {list.length === 0 ? <div className="muted small">no bookmarks yet: name a view to come back to it</div>
        : <ul className="bookmark-list">{list.map((b) => (
          <li key={b.id} data-testid="bookmark">
            <button className="link" data-testid="bookmark-open" title={`${sweeps[b.sweepId]?.name ?? b.sweepId} · kept ${b.createdAt}`}
              onClick={() => void openSweep(b.sweepId, b.view)}>{b.name}</button>
            <span className="muted small"> {sweeps[b.sweepId]?.name ?? b.sweepId}</span>
            <button className="icon" data-testid="bookmark-delete" title="delete this bookmark" onClick={() => void remove(b.id)}>×</button>
          </li>
        ))}</ul>}
    </div>
  );
}
