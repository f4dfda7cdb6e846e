/**
 * Trainable / stable boundaries as polylines (marching squares on the binary layer).
 *
 * The samples sit at cell centres; where two neighbouring centres differ, the boundary crosses
 * halfway between them, i.e. on the shared cell edge. Saddles (diagonal pairs) are resolved by
 * keeping the 1-cells apart, so every vertex joins exactly two segments and chains are unambiguous.
 * Coordinates are axis units (log10 on a log axis).
 */
import { cellCentre, cellWidth, checkMap, type BinaryLayer, type SweepMap } from "./map.js";

export interface Polyline {
  points: [number, number][];
  /** True when the line returns to its start (a boundary that does not touch the map's edge). */
  closed: boolean;
}

/** Marching squares over a binary field of nx*ny samples (row-major); returns polylines in sample
 *  index coordinates (sample (ix, iy) at (ix, iy); crossings at half-integers). */
export function marchingSquares(field: Uint8Array, nx: number, ny: number): Polyline[] {
  if (field.length !== nx * ny) throw new Error(`field has ${field.length} samples, expected ${nx}x${ny}`);
  // Edge point ids: horizontal edge between (ix, iy) and (ix+1, iy) -> iy*nx + ix;
  // vertical edge between (ix, iy) and (ix, iy+1) -> nx*ny + iy*nx + ix.
  const h = (ix: number, iy: number) => iy * nx + ix;
  const v = (ix: number, iy: number) => nx * ny + iy * nx + ix;
  const at = (ix: number, iy: number) => (field[iy * nx + ix] ? 1 : 0);
  const links = new Map<number, number[]>();
  const link = (a: number, b: number) => {
    (links.get(a) ?? links.set(a, []).get(a)!).push(b);
    (links.get(b) ?? links.set(b, []).get(b)!).push(a);
  };
  for (let iy = 0; iy + 1 < ny; iy++) {
    for (let ix = 0; ix + 1 < nx; ix++) {
      const bl = at(ix, iy), br = at(ix + 1, iy), tr = at(ix + 1, iy + 1), tl = at(ix, iy + 1);
      const code = bl | (br << 1) | (tr << 2) | (tl << 3);
      const bottom = h(ix, iy), top = h(ix, iy + 1), left = v(ix, iy), right = v(ix + 1, iy);
      switch (code) {
        case 0: case 15: break;
        case 1: case 14: link(left, bottom); break;
        case 2: case 13: link(bottom, right); break;
        case 3: case 12: link(left, right); break;
        case 4: case 11: link(right, top); break;
        case 6: case 9: link(bottom, top); break;
        case 7: case 8: link(left, top); break;
        case 5: link(left, bottom); link(right, top); break; // bl, tr set: cut each 1-corner off
        case 10: link(bottom, right); link(left, top); break; // br, tl set
      }
    }
  }
  const point = (id: number): [number, number] =>
    id < nx * ny ? [(id % nx) + 0.5, Math.floor(id / nx)] : [(id - nx * ny) % nx, Math.floor((id - nx * ny) / nx) + 0.5];

  const seen = new Set<number>();
  const walk = (start: number): Polyline => {
    const ids = [start];
    seen.add(start);
    let prev = -1;
    let cur = start;
    for (;;) {
      const next = links.get(cur)!.find((n) => n !== prev && !seen.has(n));
      if (next === undefined) break;
      ids.push(next);
      seen.add(next);
      prev = cur;
      cur = next;
    }
    const closed = ids.length > 2 && links.get(cur)!.includes(start);
    if (closed) ids.push(start);
    return { points: ids.map(point), closed };
  };
  const lines: Polyline[] = [];
  // Open chains first, from their ends (points with one link, on the sampled area's border) ...
  for (const [id, ns] of links) if (ns.length === 1 && !seen.has(id)) lines.push(walk(id));
  // ... then the loops that remain.
  for (const id of links.keys()) if (!seen.has(id)) lines.push(walk(id));
  return lines;
}

/** The trainable or stable boundary of a map, in axis units. Cells without a result read as 0, so on
 *  a partial map the boundary also outlines the cells still to come. */
export function boundaryPolylines(map: SweepMap, layer: BinaryLayer = "trainable"): Polyline[] {
  checkMap(map);
  const x0 = cellCentre(map.x, map.nx, 0);
  const y0 = cellCentre(map.y, map.ny, 0);
  const wx = cellWidth(map.x, map.nx);
  const wy = cellWidth(map.y, map.ny);
  return marchingSquares(map[layer], map.nx, map.ny).map((l) => ({
    closed: l.closed,
    points: l.points.map(([i, j]) => [x0 + i * wx, y0 + j * wy] as [number, number]),
  }));
}

export function polylineLength(line: Polyline): number {
  let s = 0;
  for (let i = 1; i < line.points.length; i++) {
    s += Math.hypot(line.points[i][0] - line.points[i - 1][0], line.points[i][1] - line.points[i - 1][1]);
  }
  return s;
}
