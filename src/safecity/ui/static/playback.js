// Playback player: a camera's recording over a time range, read from the platform's HLS
// playlist (/api/cameras/{id}/playback.m3u8) into Media Source Extensions, without hls.js.
//
// Each recorded file is one playlist segment: its init part (EXT-X-MAP) and its fragments
// (EXT-X-BYTERANGE), fetched with one Range request and appended whole. Every file's times start
// at 0, so each is placed with timestampOffset at its EXT-X-PROGRAM-DATE-TIME: the video's time
// is seconds since the page's origin (the earlier of the requested start and the first file), a
// hole in the recording is a hole in the buffer, and the player jumps over it. Files are fetched
// only AHEAD_S ahead of the playhead and dropped KEEP_S behind it, so a day plays like a minute.
// The timeline under the video shows what was recorded; clicking it seeks there.
// window.playbackStats exposes what tests read (first frame, files appended, time shown).
"use strict";

(() => {
  const AHEAD_S = 20; // fetch files starting this far ahead of the playhead
  const KEEP_S = 30; // keep this much behind it
  const BEYOND_S = 60; // drop what lies this much further ahead (after a seek back)
  const HOLE_S = 0.15; // closer than this to the end of a file or a buffered stretch: jump on
  const RETRY_MS = 2000;
  const STALL_MS = 1000; // playing but not moving this long, with the file there: jump on
  const RELOAD_MS = 10_000; // re-read a playlist that is still growing (EVENT)
  const DEFAULT_RANGE_MS = 10 * 60_000;
  const CONTAINERS = new Set(["moov", "trak", "mdia", "minf", "stbl"]);
  const VISUAL_SAMPLE_ENTRY = 78; // octets before a video sample entry's child boxes

  const $ = (id) => document.getElementById(id);
  const video = $("video");
  const status = $("status");
  const playButton = $("play");
  const head = $("head");

  const cameraId = location.pathname.split("/").filter(Boolean).pop();
  const query = new URLSearchParams(location.search);
  const token = query.get("token") || "";
  const rangeEnd = query.get("end") ? Date.parse(query.get("end")) : Date.now();
  const rangeStart = query.get("start") ? Date.parse(query.get("start")) : rangeEnd - DEFAULT_RANGE_MS;
  const stats = { segments: 0, appended: 0, bytes: 0, codec: null, errors: [], firstFrameMs: null, shownAt: null };
  window.playbackStats = stats;

  let segments = []; // {url, initUrl, init, media, start (ms), duration (s), loaded}
  let ended = false;
  let origin = rangeStart; // wall-clock ms at video time 0
  let sourceBuffer = null;
  let codec = null;
  let busy = false; // a fetch, append or remove in flight
  let appending = null; // the segment whose bytes are being appended
  let retryAt = 0; // after a failed fetch, when to try again
  let stillAt = -1; // the playhead's time when it last moved...
  let stillSince = 0; // ...and since when it has been there

  const show = (text, state) => {
    status.textContent = text;
    status.dataset.state = state;
  };
  const fail = (text) => {
    stats.errors.push(text);
    show(text, "error");
  };
  const offset = (segment) => (segment.start - origin) / 1000;
  const total = () => Math.max(1, (rangeEnd - origin) / 1000);
  const withToken = (path) => `${path}${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`;
  const pad = (n) => String(n).padStart(2, "0");
  const local = (ms) => {
    const d = new Date(ms);
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  };

  $("camera").textContent = `camera ${cameraId}`;
  fetch(`/api/devices/${encodeURIComponent(cameraId)}`, { headers: { Authorization: `Bearer ${token}` } })
    .then((response) => (response.ok ? response.json() : null))
    .then((device) => {
      if (device) $("camera").textContent = `${device.name} · ${device.gb_id}`;
    })
    .catch(() => {}); // the label only: the playlist says what went wrong
  $("live").href = withToken(`/live/${encodeURIComponent(cameraId)}`);
  $("start").value = local(rangeStart);
  $("end").value = local(rangeEnd);
  $("range").addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams({ token });
    next.set("start", new Date($("start").value).toISOString());
    next.set("end", new Date($("end").value).toISOString());
    location.search = next.toString();
  });

  // -- the playlist ---------------------------------------------------------------------------

  function parsePlaylist(text, base) {
    const found = [];
    let map = null;
    let start = null;
    let duration = 0;
    let media = null;
    const value = (line) => line.slice(line.indexOf(":") + 1);
    const byteRange = (text) => {
      const [length, at] = text.split("@").map(Number);
      return { length, offset: at };
    };
    for (const raw of text.split("\n")) {
      const line = raw.trim();
      if (line.startsWith("#EXT-X-MAP:")) {
        const uri = /URI="([^"]*)"/.exec(line);
        const range = /BYTERANGE="([^"]*)"/.exec(line);
        map = { uri: uri[1], range: byteRange(range[1]) };
      } else if (line.startsWith("#EXT-X-PROGRAM-DATE-TIME:")) {
        start = Date.parse(value(line));
      } else if (line.startsWith("#EXTINF:")) {
        duration = parseFloat(value(line));
      } else if (line.startsWith("#EXT-X-BYTERANGE:")) {
        media = byteRange(value(line));
      } else if (line && !line.startsWith("#") && map !== null && media !== null) {
        const url = new URL(line, base).href;
        found.push({ url, initUrl: new URL(map.uri, base).href, init: map.range, media, start, duration, loaded: false });
      }
    }
    return { found, finished: text.includes("#EXT-X-ENDLIST") };
  }

  async function refresh() {
    const path = `/api/cameras/${encodeURIComponent(cameraId)}/playback.m3u8`;
    const url = new URL(withToken(`${path}?start=${new Date(rangeStart).toISOString()}&end=${new Date(rangeEnd).toISOString()}`), location.href);
    const response = await fetch(url);
    const text = await response.text();
    if (!response.ok) {
      let why = text;
      try {
        why = JSON.parse(text).detail || text;
      } catch (_) {}
      throw new Error(`${response.status}: ${why}`);
    }
    const { found, finished } = parsePlaylist(text, url.href);
    const known = new Map(segments.map((s) => [s.url, s]));
    segments = found.map((s) => known.get(s.url) || s);
    ended = finished;
    stats.segments = segments.length;
    drawTimeline();
  }

  function drawTimeline() {
    const spans = $("spans");
    spans.replaceChildren(
      ...segments.map((s) => {
        const span = document.createElement("div");
        span.style.left = `${(offset(s) / total()) * 100}%`;
        span.style.width = `${(s.duration / total()) * 100}%`;
        return span;
      }),
    );
  }

  // -- files into the buffer ------------------------------------------------------------------

  async function fetchRange(url, range) {
    const response = await fetch(url, { headers: { Range: `bytes=${range.offset}-${range.offset + range.length - 1}` } });
    if (!response.ok) throw new Error(`a recorded file: ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
  }

  async function fileBytes(segment) {
    const { init, media } = segment;
    if (segment.initUrl === segment.url && init.offset + init.length === media.offset) {
      return fetchRange(segment.url, { offset: init.offset, length: init.length + media.length });
    }
    const [first, rest] = await Promise.all([fetchRange(segment.initUrl, init), fetchRange(segment.url, media)]);
    const whole = new Uint8Array(first.length + rest.length);
    whole.set(first);
    whole.set(rest, first.length);
    return whole;
  }

  function hevcSuffix(r) {
    // ISO/IEC 14496-15 Annex E.3, as the platform writes it for live view.
    const space = r[1] >> 6 ? "ABC"[(r[1] >> 6) - 1] : "";
    let flags = ((r[2] << 24) | (r[3] << 16) | (r[4] << 8) | r[5]) >>> 0;
    let reversed = 0;
    for (let bit = 0; bit < 32; bit += 1) {
      reversed = reversed * 2 + (flags & 1);
      flags >>>= 1;
    }
    const constraints = Array.from(r.subarray(6, 12));
    while (constraints.length && constraints[constraints.length - 1] === 0) constraints.pop();
    const tier = r[1] & 0x20 ? "H" : "L";
    return [`${space}${r[1] & 0x1f}`, reversed.toString(16), `${tier}${r[12]}`, ...constraints.map((c) => c.toString(16).toUpperCase())].join(".");
  }

  function codecOf(data) {
    // The RFC 6381 codecs value of the first video track of an init part (ftyp + moov).
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const type = (at) => String.fromCharCode(data[at], data[at + 1], data[at + 2], data[at + 3]);
    const entry = (at) => {
      const kind = type(at + 4);
      const stop = at + view.getUint32(at);
      for (let child = at + 8 + VISUAL_SAMPLE_ENTRY; child + 8 <= stop; ) {
        const size = view.getUint32(child);
        const body = data.subarray(child + 8, child + size);
        if (type(child + 4) === "avcC" && body.length >= 4) {
          return `${kind}.${[1, 2, 3].map((i) => body[i].toString(16).padStart(2, "0")).join("")}`;
        }
        if (type(child + 4) === "hvcC" && body.length >= 13) return `${kind}.${hevcSuffix(body)}`;
        if (size < 8) break;
        child += size;
      }
      return null;
    };
    const walk = (at, end) => {
      while (at + 8 <= end) {
        const size = view.getUint32(at);
        if (size < 8 || at + size > end) return null;
        const kind = type(at + 4);
        if (kind === "stsd") return entry(at + 16); // full box header and entry count
        if (CONTAINERS.has(kind)) {
          const found = walk(at + 8, at + size);
          if (found) return found;
        }
        at += size;
      }
      return null;
    };
    return walk(0, data.length);
  }

  function append(segment, data) {
    const found = codecOf(data.subarray(0, segment.init.length));
    if (found === null) throw new Error("a recorded file without a video track this page can read");
    const type = `video/mp4; codecs="${found}"`;
    if (sourceBuffer === null) {
      if (!MediaSource.isTypeSupported(type)) throw new Error(`this browser cannot play ${found}`);
      sourceBuffer = mediaSource.addSourceBuffer(type);
      sourceBuffer.mode = "segments";
      sourceBuffer.addEventListener("updateend", settled);
      sourceBuffer.addEventListener("error", () => fail("the recording could not be decoded"));
    } else if (found !== codec && sourceBuffer.changeType) {
      sourceBuffer.changeType(type);
    }
    codec = stats.codec = found;
    sourceBuffer.timestampOffset = offset(segment);
    appending = segment;
    sourceBuffer.appendBuffer(data);
    stats.bytes += data.length;
  }

  function settled() {
    if (appending !== null) {
      appending.loaded = true;
      appending = null;
      stats.appended += 1;
    }
    busy = false;
    fill();
  }

  function remove(from, to) {
    busy = true;
    for (const s of segments) {
      if (offset(s) + s.duration > from && offset(s) < to) s.loaded = false;
    }
    sourceBuffer.remove(from, to); // updateend: settled
  }

  function fill() {
    if (busy || mediaSource.readyState !== "open" || Date.now() < retryAt) return;
    const here = video.currentTime;
    const ranges = sourceBuffer ? sourceBuffer.buffered : null;
    if (ranges && ranges.length) {
      const last = ranges.end(ranges.length - 1);
      if (ranges.start(0) < here - 2 * KEEP_S) {
        remove(0, here - KEEP_S);
        return;
      }
      if (last > here + AHEAD_S + 2 * BEYOND_S) {
        remove(here + AHEAD_S + BEYOND_S, last + 1);
        return;
      }
    }
    const next = segments.find((s) => !s.loaded && offset(s) + s.duration > here && offset(s) < here + AHEAD_S);
    if (next === undefined) return;
    busy = true;
    fileBytes(next)
      .then((data) => append(next, data))
      .catch((error) => {
        busy = false;
        appending = null;
        retryAt = Date.now() + RETRY_MS;
        fail(error.message);
      });
  }

  // -- the playhead ---------------------------------------------------------------------------

  function buffered(time) {
    const ranges = video.buffered;
    for (let i = 0; i < ranges.length; i += 1) {
      if (time >= ranges.start(i) - 0.01 && time < ranges.end(i)) return ranges.end(i);
    }
    return null;
  }

  function seek(time) {
    // A time in a hole goes to the next recorded picture; past the last one, nowhere.
    const at = segments.find((s) => offset(s) + s.duration > time);
    if (at === undefined) return;
    video.currentTime = Math.max(time, offset(at), 0);
    fill();
    if (video.paused && playButton.textContent === "pause") video.play().catch(() => {});
  }

  function skipHoles(here) {
    const recorded = segments.some((s) => here >= offset(s) - 0.01 && here < offset(s) + s.duration - HOLE_S);
    if (!recorded) {
      const next = segments.find((s) => offset(s) > here);
      if (next !== undefined) seek(offset(next)); // over a gap in the recording
      return;
    }
    if (here !== stillAt || video.paused) {
      stillAt = here;
      stillSince = Date.now();
    }
    const end = buffered(here);
    if (end !== null && end - here < HOLE_S) {
      const ranges = video.buffered;
      for (let i = 0; i < ranges.length; i += 1) {
        if (ranges.start(i) > here && ranges.start(i) - here < 1) {
          video.currentTime = ranges.start(i); // a sliver between two files
          return;
        }
      }
    }
    if (end !== null && Date.now() - stillSince > STALL_MS) {
      // Buffered yet not playing: the browser counts a short hole between two files (or
      // frames missing inside one) as buffered and waits at it. On to the next file.
      const next = segments.find((s) => offset(s) > here + 0.01);
      if (next !== undefined) seek(offset(next));
      stillSince = Date.now();
    }
  }

  function tick() {
    const here = video.currentTime;
    stats.shownAt = origin + here * 1000;
    $("at").textContent = local(stats.shownAt).replace("T", " ");
    head.style.left = `${Math.min(100, (here / total()) * 100)}%`;
    skipHoles(here);
    const stalled = Date.now() - stillSince > STALL_MS;
    const last = !segments.some((s) => offset(s) > here + 0.01);
    if (last && (stalled || !segments.some((s) => offset(s) + s.duration > here + 0.2))) {
      show(ended || here >= total() - 1 ? "end of the range" : "waiting for more recording…", "waiting");
    } else if (!video.paused) {
      show(stalled ? "loading…" : "playing", stalled ? "waiting" : "live");
    }
    fill();
  }

  $("timeline").addEventListener("click", (event) => {
    const box = event.currentTarget.getBoundingClientRect();
    seek(((event.clientX - box.left) / box.width) * total());
  });
  playButton.addEventListener("click", () => {
    if (video.paused) {
      playButton.textContent = "pause";
      video.play().catch(() => {});
    } else {
      playButton.textContent = "play";
      video.pause();
      show("paused", "waiting");
    }
  });
  window.playbackSeek = (wallClockMs) => seek((wallClockMs - origin) / 1000); // for tests

  if ("requestVideoFrameCallback" in video) {
    video.requestVideoFrameCallback(() => (stats.firstFrameMs = performance.now()));
  } else {
    video.addEventListener("playing", () => (stats.firstFrameMs = performance.now()), { once: true });
  }

  if (!("MediaSource" in window)) {
    fail("this browser has no Media Source Extensions");
    return;
  }
  const mediaSource = new MediaSource();
  video.src = URL.createObjectURL(mediaSource);
  mediaSource.addEventListener("sourceopen", begin, { once: true });

  async function begin() {
    try {
      await refresh();
    } catch (error) {
      fail(`no playlist: ${error.message}`);
      return;
    }
    if (segments.length === 0) {
      // Files appear once closed: a range reaching the present may have none yet.
      show(ended ? "nothing recorded in this range" : "nothing recorded yet: waiting…", "closed");
      if (!ended) setTimeout(begin, RELOAD_MS);
      return;
    }
    origin = Math.min(rangeStart, segments[0].start);
    mediaSource.duration = total(); // else a seek past what is buffered yet stops at its end
    drawTimeline();
    playButton.disabled = false;
    playButton.textContent = "pause";
    seek((rangeStart - origin) / 1000);
    video.play().catch(() => {});
    setInterval(tick, 250);
    setInterval(() => {
      if (!ended) refresh().catch((error) => fail(`playlist: ${error.message}`));
    }, RELOAD_MS);
  }
})();
