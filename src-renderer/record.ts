// A zoom animation exported from the map: the canvas is recorded (MediaRecorder, WebM) while the view moves from one
// view to another, frame by frame, each frame drawn before it is captured, so a slow renderer gives a slower
// recording, never a torn or skipped frame. The path zooms geometrically (equal time per decade) towards the
// target's centre, the way a researcher zooms with the wheel.

import type { View } from "./view";

/** The view at t in [0, 1] on the way from `a` to `b`: scales geometric, the centre fixed where the zoom converges. */
export function zoomPath(a: View, b: View, t: number): View {
  const sx = a.sx * (b.sx / a.sx) ** t, sy = a.sy * (b.sy / a.sy) ** t;
  // The centre moves in proportion to the scale change, so the target point stays put on screen as the zoom
  // converges (a straight line in centre space would drift out of a deep zoom's window).
  const f = a.sx === b.sx ? t : (sx - a.sx) / (b.sx - a.sx);
  return { sx, sy, cx: a.cx + f * (b.cx - a.cx), cy: a.cy + f * (b.cy - a.cy) };
}

/** What the map gives the recorder: its canvas, and a way to show a view and draw it at once. */
export interface MapCanvas { canvas: HTMLCanvasElement; draw(view: View): void }

export const mapCanvas: { current: MapCanvas | null } = { current: null };

/** Record the map zooming from `from` to `to` over `seconds` at `fps`; resolves to a WebM video. */
export async function recordZoom(from: View, to: View, seconds = 6, fps = 30, onFrame?: (done: number, frames: number) => void): Promise<Blob> {
  const m = mapCanvas.current;
  if (!m) throw new Error("the map is not on screen");
  const stream = m.canvas.captureStream(0);
  const track = stream.getVideoTracks()[0] as CanvasCaptureMediaStreamTrack;
  const type = ["video/webm;codecs=vp9", "video/webm;codecs=vp8", "video/webm"].find((t) => MediaRecorder.isTypeSupported(t));
  if (!type) throw new Error("this browser cannot record WebM video");
  const rec = new MediaRecorder(stream, { mimeType: type, videoBitsPerSecond: 8_000_000 });
  const chunks: Blob[] = [];
  rec.ondataavailable = (e) => { if (e.data.size) chunks.push(e.data); };
  const stopped = new Promise<void>((res) => { rec.onstop = () => res(); });
  rec.start();
  const frames = Math.max(2, Math.round(seconds * fps));
  for (let k = 0; k < frames; k++) {
    const t0 = performance.now();
    m.draw(zoomPath(from, to, k / (frames - 1)));
    track.requestFrame();
    onFrame?.(k + 1, frames);
    await new Promise((r) => setTimeout(r, Math.max(0, 1000 / fps - (performance.now() - t0))));
  }
  rec.stop();
  await stopped;
  stream.getTracks().forEach((t) => t.stop());
  return new Blob(chunks, { type: "video/webm" });
}

/** Offer a blob as a download named `name`. */
export function download(blob: Blob, name: string): void {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}
