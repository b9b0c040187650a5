// Live view player: fragmented MP4 from /api/cameras/{id}/live into Media Source Extensions.
//
// The server sends a JSON header ({"codec", "camera", "name", "width", "height"}), then binary
// messages: the init segment, then one moof+mdat per frame from the latest keyframe on. They are
// appended in order to one SourceBuffer in "segments" mode (the fragments carry their own decode
// times). The player keeps the buffer short and stays at the live edge: it jumps there when it
// lags by more than MAX_LAG_S or is stuck before a gap (a viewer that fell behind skips to the
// next keyframe on the server), and plays slightly fast to catch up small lags.
// window.liveStats exposes what tests and benchmarks read (first frame time, counts).
"use strict";

(() => {
  const MAX_LAG_S = 1.5; // jump to the live edge beyond this
  const EDGE_S = 0.15; // where to land behind the newest frame
  const KEEP_S = 10; // buffer kept behind the playhead
  const TRIM_AFTER_S = 30; // trim once this much lies behind it

  const video = document.getElementById("video");
  const cameraLabel = document.getElementById("camera");
  const clock = document.getElementById("clock");
  const lagLabel = document.getElementById("lag");
  const status = document.getElementById("status");

  const cameraId = location.pathname.split("/").filter(Boolean).pop();
  const token = new URLSearchParams(location.search).get("token") || "";
  const stats = {
    firstMessageMs: null,
    firstFrameMs: null, // performance.now() is measured from the navigation start
    fragments: 0,
    bytes: 0,
    codec: null,
    closed: null,
    errors: [],
  };
  window.liveStats = stats;
  document.getElementById("playback").href =
    `/playback/${encodeURIComponent(cameraId)}?token=${encodeURIComponent(token)}`;

  const pending = []; // ArrayBuffers (and codec changes) waiting for the SourceBuffer
  let sourceBuffer = null;
  let codec = null;

  function show(text, state) {
    status.textContent = text;
    status.dataset.state = state;
  }

  function fail(text) {
    stats.errors.push(text);
    show(text, "error");
  }

  if (!("MediaSource" in window)) {
    fail("this browser has no Media Source Extensions");
    return;
  }
  const mediaSource = new MediaSource();
  video.src = URL.createObjectURL(mediaSource);
  mediaSource.addEventListener("sourceopen", connect, { once: true });

  function connect() {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const url =
      `${scheme}//${location.host}/api/cameras/${encodeURIComponent(cameraId)}/live` +
      `?token=${encodeURIComponent(token)}`;
    const socket = new WebSocket(url);
    socket.binaryType = "arraybuffer";
    socket.onopen = () => show("waiting for video…", "waiting");
    socket.onmessage = (event) => {
      if (stats.firstMessageMs === null) stats.firstMessageMs = performance.now();
      if (typeof event.data === "string") {
        header(JSON.parse(event.data));
      } else {
        stats.fragments += 1;
        stats.bytes += event.data.byteLength;
        pending.push(event.data);
        pump();
      }
    };
    socket.onclose = (event) => {
      stats.closed = event.code;
      const why = event.reason || `code ${event.code}`;
      show(`closed: ${why}`, "closed");
    };
  }

  function header(message) {
    cameraLabel.textContent = message.name || `camera ${message.camera}`;
    const type = `video/mp4; codecs="${message.codec}"`;
    if (!MediaSource.isTypeSupported(type)) {
      fail(`this browser cannot play ${message.codec}`);
      return;
    }
    stats.codec = message.codec;
    if (sourceBuffer === null) {
      sourceBuffer = mediaSource.addSourceBuffer(type);
      sourceBuffer.mode = "segments";
      sourceBuffer.addEventListener("updateend", pump);
      sourceBuffer.addEventListener("updateend", chase);
      sourceBuffer.addEventListener("error", () => fail("the video could not be decoded"));
    } else if (message.codec !== codec) {
      pending.push({ changeType: type }); // applied in order, between appends
    }
    codec = message.codec;
    show("live", "live");
  }

  function pump() {
    if (sourceBuffer === null || sourceBuffer.updating || mediaSource.readyState !== "open") {
      return;
    }
    const ranges = sourceBuffer.buffered;
    if (ranges.length && video.currentTime - ranges.start(0) > TRIM_AFTER_S) {
      sourceBuffer.remove(0, video.currentTime - KEEP_S); // updateend calls pump again
      return;
    }
    const next = pending.shift();
    if (next === undefined) return;
    try {
      if (next.changeType !== undefined) {
        if (sourceBuffer.changeType) sourceBuffer.changeType(next.changeType);
        pump();
      } else {
        sourceBuffer.appendBuffer(next);
      }
    } catch (error) {
      if (error.name === "QuotaExceededError" && ranges.length) {
        pending.unshift(next);
        sourceBuffer.remove(0, Math.max(ranges.start(0) + 1, video.currentTime - 1));
      } else {
        fail(`append failed: ${error.message}`);
      }
    }
  }

  function chase() {
    const ranges = video.buffered;
    if (ranges.length === 0) return;
    const last = ranges.length - 1;
    const end = ranges.end(last);
    let here = video.currentTime;
    let inside = -1;
    for (let i = 0; i < ranges.length; i += 1) {
      if (here >= ranges.start(i) - 0.01 && here <= ranges.end(i)) inside = i;
    }
    if (inside === -1 || end - here > MAX_LAG_S) {
      // Not started yet, before a gap, or far behind: go to the live edge.
      here = Math.max(ranges.start(last), end - EDGE_S);
      video.currentTime = here;
    } else if (inside < last && ranges.end(inside) - here < 0.1) {
      here = ranges.start(inside + 1);
      video.currentTime = here; // stuck before a hole: skip it
    }
    const lag = end - here;
    video.playbackRate = lag > 0.5 ? 1.1 : 1.0;
    lagLabel.textContent = `${(lag * 1000).toFixed(0)} ms behind`;
    if (video.paused) video.play().catch(() => {});
  }

  function firstFrame() {
    if (stats.firstFrameMs === null) stats.firstFrameMs = performance.now();
  }

  if ("requestVideoFrameCallback" in video) {
    video.requestVideoFrameCallback(firstFrame);
  } else {
    video.addEventListener("playing", firstFrame, { once: true });
  }
  video.addEventListener("progress", chase);
  setInterval(chase, 250);
  setInterval(() => {
    clock.textContent = new Date().toLocaleTimeString([], { hour12: false });
  }, 250);
})();
