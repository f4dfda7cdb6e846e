// A zoom animation exported from the map: the view moves from one view to another frame by frame, each frame drawn,
// then encoded at its own timestamp (WebCodecs VP8, written as WebM by webm.ts), so a slow renderer or encoder gives
// a slower export, never a torn, skipped or short video. The path zooms geometrically (equal time per decade) towards the
// target's centre, the way a researcher zooms with the wheel.

import type { View } from "./view";
import { type EncodedFrame, webmFile } from "./webm";

/** The view at t in [0, 1] on the way from `a` to `b`: scales geometric, the centre fixed where the zoom converges. */
export function zoomPath(a: View, b: View, t: number): View {
  const sx = a.sx * (b.sx / a.sx) ** t, sy = a.sy * (b.sy / a.sy) ** t;
  // The centre moves in proportion to the scale change, so the target point stays put on screen as the zoom
  // converges (a straight line in centre space would drift out of a deep zoom's window).
  const f = a.sx === b.sx ? t : (sx - a.sx) / (b.sx - a.sx);
  return { sx, sy, cx: a.cx + f * (b.cx - a.cx), cy: a.cy + f * (b.cy - a.cy) };
}

/** Seconds the video rests on the target view after the zoom arrives. */
export const HOLD_SECONDS = 1;

/** What the map gives the recorder: its canvas, and a way to show a view and draw it at once. */
export interface MapCanvas { canvas: HTMLCanvasElement; draw(view: View): void }

export const mapCanvas: { current: MapCanvas | null } = { current: null };

/**
 * Record the map zooming from `from` to `to` over `seconds` at `fps`, then resting HOLD_SECONDS on `to`; resolves to
 * a WebM video. Each frame is drawn, then encoded (WebCodecs, VP8) at its own timestamp, so the video is the same
 * however slowly this computer draws or encodes: a real-time recorder (MediaRecorder) drops the frames its encoder
 * cannot keep up with, and a loaded machine then gets a short video that never reaches the view.
 */
export async function recordZoom(from: View, to: View, seconds = 6, fps = 30, onFrame?: (done: number, frames: number) => void): Promise<Blob> {
  const m = mapCanvas.current;
  if (!m) throw new Error("the map is not on screen");
  if (typeof VideoEncoder === "undefined") throw new Error("this browser cannot encode video (no WebCodecs VideoEncoder); use Chromium, Chrome, Edge or Firefox 130+");
  // Frames are copied onto a canvas of their own, of the map's size at the start with even sides (VP8's): the map's
  // canvas can change size while it draws (a layout settling), and a frame must keep the video's size.
  const width = Math.max(2, m.canvas.width & ~1), height = Math.max(2, m.canvas.height & ~1);
  const still = document.createElement("canvas");
  still.width = width;
  still.height = height;
  const copy = still.getContext("2d")!;
  // "realtime": libvpx's fast mode, several times quicker than "quality" in software, and plenty for a map's flat cells.
  const config: VideoEncoderConfig = { codec: "vp8", width, height, bitrate: 8_000_000, framerate: fps, latencyMode: "realtime" };
  if (!(await VideoEncoder.isConfigSupported(config)).supported) throw new Error(`this browser cannot encode ${width}x${height} VP8 video`);
  const chunks: EncodedFrame[] = [];
  let failed: Error | null = null;
  const encoder = new VideoEncoder({
    output: (chunk) => {
      const data = new Uint8Array(chunk.byteLength);
      chunk.copyTo(data);
      chunks.push({ data, timestampUs: chunk.timestamp, key: chunk.type === "key" });
    },
    error: (e) => { failed = e instanceof Error ? e : new Error(String(e)); },
  });
  encoder.configure(config);
  const frames = Math.max(2, Math.round(seconds * fps));
  const total = frames + Math.round(HOLD_SECONDS * fps);
  const frameUs = 1e6 / fps;
  try {
    for (let k = 0; k < total; k++) {
      m.draw(zoomPath(from, to, Math.min(1, k / (frames - 1))));
      copy.drawImage(m.canvas, 0, 0, width, height);
      const frame = new VideoFrame(still, { timestamp: Math.round(k * frameUs), duration: Math.round(frameUs) });
      encoder.encode(frame, { keyFrame: k % fps === 0 }); // a key frame a second: seeking lands near where asked
      frame.close();
      onFrame?.(Math.min(k + 1, frames), frames);
      // Let the encoder catch up (and the page paint the progress) rather than queueing every frame's pixels.
      while (encoder.encodeQueueSize > 4 && !failed) await new Promise((r) => setTimeout(r, 5));
      if (failed) throw failed;
      if (k % 10 === 9) await new Promise((r) => setTimeout(r, 0));
    }
    await encoder.flush();
    if (failed) throw failed;
  } finally {
    if (encoder.state !== "closed") encoder.close();
  }
  return new Blob([webmFile(chunks, width, height, total * frameUs)], { type: "video/webm" });
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
