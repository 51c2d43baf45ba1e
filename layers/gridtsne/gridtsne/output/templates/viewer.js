(() => {
  "use strict";

  // ---- data -------------------------------------------------------------------------------------
  const data = JSON.parse(document.getElementById("gridtsne-data").textContent);
  const rows = data.grid.rows, cols = data.grid.cols, cell = data.grid.tile;
  const W = cols * cell, H = rows * cell; // world coordinates: grid pixels at full resolution
  const N = data.count; // pictures placed
  // Fresh URLs of the page's files from the link's fragment (#mosaic=...&tiles=...&keys=...), else those in
  // the page; `originals` is a signed redirect that answers `&key=<key>` with the original picture.
  const links = {};
  for (const [name, value] of new URLSearchParams(location.hash.slice(1))) {
    if (["mosaic", "tiles", "keys", "originals"].includes(name) && /^https?:/i.test(value)) {
      links[name] = value;
    }
  }
  const mosaicUrl = links.mosaic || data.mosaic;
  const tilesUrl = data.tiles ? links.tiles || data.tiles.url : null;

  // ---- keys: in the page (small grids), or a block at a time from the key file (beside an archive) ----
  // names.get(c): {key, url} of the picture in cell c (row * cols + col), null for an empty cell,
  // undefined until its block is read (names.load(c) reads it); names.all(): every placed cell and its key
  // in reading order, or null until names.loadAll(progress) has read them (a key file only).
  const names = data.keyfile ? keyFile(links.keys || data.keyfile.url) : inlineKeys();
  let lowerKeys = null; // built on first search
  function inlineKeys() {
    const byCell = new Int32Array(rows * cols).fill(-1); // cell -> image index
    for (let i = 0; i < N; i++) byCell[data.cells[2 * i] * cols + data.cells[2 * i + 1]] = i;
    let all = null;
    return {
      get: (c) => (byCell[c] >= 0 ? { key: data.keys[byCell[c]], url: data.urls[byCell[c]] } : null),
      load: () => Promise.resolve(),
      all() {
        if (!all) {
          all = { cells: [], keys: [] };
          for (let c = 0; c < byCell.length; c++) {
            if (byCell[c] >= 0) {
              all.cells.push(c);
              all.keys.push(data.keys[byCell[c]]);
            }
          }
        }
        return all;
      },
    };
  }
  function keyFile(url) {
    // The format (gridtsne.output.keyfile): "gridkeys", the header's length (uint32 LE), the header (JSON:
    // cells per block, the blocks' offsets after it), then blocks of cells in reading order, each one gzip
    // member of {"keys": [key or null, ...], "urls": [...]}. Each part is one range request.
    const blocks = new Map(); // block number -> its content once read (null: it could not be read)
    const reading = new Map(); // block number -> the promise of reading it
    let whole = null; // the whole file, where the server answered a range request with all of it
    let index = null, settled = false, all = null, readingAll = null, showProgress = () => {};
    async function read(start, end) {
      if (whole) return whole.subarray(start, end);
      const res = await fetch(url, { headers: { Range: "bytes=" + start + "-" + (end - 1) } });
      if (!res.ok) throw new Error("HTTP " + res.status);
      const bytes = new Uint8Array(await res.arrayBuffer());
      if (res.status !== 200) return bytes;
      whole = bytes;
      return bytes.subarray(start, end);
    }
    function unreadable() {
      $("hint").textContent = location.protocol === "file:"
        ? "Deep zoom and keys: serve this folder over HTTP with range requests"
        : "Could not read the keys of the grid.";
    }
    // a page opened from file:// cannot read the file: no keys
    const header = (async () => {
      if (location.protocol === "file:") return;
      let part = await read(0, 16384);
      if (new TextDecoder().decode(part.subarray(0, 8)) !== "gridkeys") throw new Error("not a key file");
      const n = new DataView(part.buffer, part.byteOffset, part.byteLength).getUint32(8, true);
      part = 12 + n > part.length ? await read(12, 12 + n) : part.subarray(12, 12 + n);
      const head = JSON.parse(new TextDecoder().decode(part));
      if (head.rows !== rows || head.cols !== cols) throw new Error("the key file of another grid");
      index = { block: head.block, offsets: head.offsets, start: 12 + n };
    })().catch(() => {}).then(() => {
      settled = true;
      if (!index) unreadable();
    });
    function block(b) {
      if (!reading.has(b)) {
        const job = (async () => {
          const raw = await read(index.start + index.offsets[b], index.start + index.offsets[b + 1]);
          const text = new Blob([raw]).stream().pipeThrough(new DecompressionStream("gzip"));
          return JSON.parse(await new Response(text).text());
        })().catch(() => {
          unreadable();
          return null;
        }).then((content) => {
          blocks.set(b, content);
          keysArrived();
        });
        reading.set(b, job);
      }
      return reading.get(b);
    }
    const store = {
      get(c) {
        if (!index) return settled ? null : undefined;
        const b = Math.floor(c / index.block), content = blocks.get(b);
        if (!content) return content === null ? null : undefined;
        const j = c - b * index.block, key = content.keys[j];
        return key == null ? null : { key, url: content.urls ? content.urls[j] : null };
      },
      load: (c) => header.then(() => (index ? block(Math.floor(c / index.block)) : null)),
      all: () => all,
      loadAll(progress) {
        showProgress = progress;
        return (readingAll = readingAll || readAll());
      },
    };
    async function readAll() {
      await header;
      if (!index) return { cells: [], keys: [] };
      const count = index.offsets.length - 1, size = index.start + index.offsets[count];
      if (!whole) {
        // every block at once: one request for the whole file, its progress shown as it arrives
        try {
          const res = await fetch(url);
          if (!res.ok) throw new Error("HTTP " + res.status);
          const reader = res.body.getReader(), parts = [];
          let got = 0;
          for (let part = await reader.read(); !part.done; part = await reader.read()) {
            parts.push(part.value);
            got += part.value.length;
            showProgress(Math.min(1, got / size));
          }
          const bytes = new Uint8Array(got);
          parts.reduce((at, part) => (bytes.set(part, at), at + part.length), 0);
          whole = bytes;
        } catch (e) {
          unreadable();
        }
      }
      await Promise.all(Array.from({ length: count }, (_, b) => block(b)));
      all = { cells: [], keys: [] };
      for (let b = 0; b < count; b++) {
        const content = blocks.get(b);
        if (!content) continue;
        content.keys.forEach((key, j) => {
          if (key != null) {
            all.cells.push(b * index.block + j);
            all.keys.push(key);
          }
        });
      }
      return all;
    }
    return store;
  }

  const $ = (id) => document.getElementById(id);
  const canvas = $("canvas"), ctx = canvas.getContext("2d");
  const stage = $("stage"), tooltip = $("tooltip"), message = $("message");
  const searchInput = $("search"), searchCount = $("search-count");
  const statusCell = $("status-cell"), statusOpen = $("status-open");
  const fmt = new Intl.NumberFormat("en");

  // ---- view state: screen = world * s + (x, y), in CSS pixels --------------------------------------
  const view = { s: 1, x: 0, y: 0 };
  let cw = 1, ch = 1, dpr = 1, fitted = false;
  let hoverCell = -1, selectedCell = -1;
  let matches = [], matchAt = -1; // cells of the matches in reading order; index of the current match
  let masks = null; // per-cell pictures of the matches: {dim, dots, flag}
  let ready = false, failed = false;

  const fitScale = () => Math.max(1e-4, Math.min((cw - 32) / W, (ch - 32) / H));
  const minScale = () => Math.min(fitScale() * 0.5, 1);
  const maxScale = () => Math.max(fitScale() * 2, 512 / cell);
  const clamp = (v, lo, hi) => Math.max(lo, Math.min(hi, v));

  function clampPan() {
    // a grid larger than the window cannot leave more than `pad` of empty margin at an edge;
    // a smaller one stays inside the window
    const pad = 64;
    const limit = (v, size, screen) => {
      const a = screen - size - pad;
      return clamp(v, Math.min(a, pad), Math.max(a, pad));
    };
    view.x = limit(view.x, W * view.s, cw);
    view.y = limit(view.y, H * view.s, ch);
  }
  function fit() {
    view.s = fitScale();
    view.x = (cw - W * view.s) / 2;
    view.y = (ch - H * view.s) / 2;
    changed();
  }
  function zoomAt(factor, sx, sy) {
    const s = clamp(view.s * factor, minScale(), maxScale());
    const wx = (sx - view.x) / view.s, wy = (sy - view.y) / view.s;
    view.s = s;
    view.x = sx - wx * s;
    view.y = sy - wy * s;
    changed();
  }
  const zoomCenter = (factor) => zoomAt(factor, cw / 2, ch / 2);
  function panBy(dx, dy) {
    view.x += dx;
    view.y += dy;
    changed();
  }
  function changed() {
    clampPan();
    $("zoom-level").value = Math.round(view.s * 100) + "%";
    hideTooltip();
    requestDraw();
  }

  // ---- geometry helpers ---------------------------------------------------------------------------
  function cellAtScreen(sx, sy) {
    const wx = (sx - view.x) / view.s, wy = (sy - view.y) / view.s;
    if (wx < 0 || wy < 0 || wx >= W || wy >= H) return -1;
    return Math.floor(wy / cell) * cols + Math.floor(wx / cell);
  }
  function cellScreenRect(c) {
    const r = Math.floor(c / cols), k = c % cols;
    return { x: view.x + k * cell * view.s, y: view.y + r * cell * view.s, w: cell * view.s, h: cell * view.s };
  }
  // the cell's picture: key and URL, or null keys for an empty cell or one whose key is still being read
  // (`loading`; it is read, and what shows it is redrawn)
  function describe(c) {
    const found = c >= 0 ? names.get(c) : null;
    if (found === undefined) names.load(c);
    return {
      row: Math.floor(c / cols), col: c % cols, loading: found === undefined,
      key: found ? found.key : null, url: found ? found.url || original(found.key) : null,
    };
  }
  // run `then` once the key of cell c is known
  function whenKnown(c, then) {
    if (names.get(c) === undefined) names.load(c).then(then);
    else then();
  }
  function original(key) {
    return links.originals ? links.originals + "&key=" + encodeURIComponent(key) : null;
  }
  function ensureVisible(c, minSide) {
    if (minSide && cell * view.s < minSide) {
      view.s = clamp(minSide / cell, minScale(), maxScale());
    }
    const r = cellScreenRect(c); // centre it unless it is already in full view
    if (r.x < 0 || r.y < 0 || r.x + r.w > cw || r.y + r.h > ch) {
      view.x += cw / 2 - (r.x + r.w / 2);
      view.y += ch / 2 - (r.y + r.h / 2);
    }
    changed();
  }

  // ---- canvas sizing ------------------------------------------------------------------------------
  function resize() {
    const rect = stage.getBoundingClientRect();
    const cx = (cw / 2 - view.x) / view.s, cy = (ch / 2 - view.y) / view.s;
    cw = Math.max(1, rect.width);
    ch = Math.max(1, rect.height);
    dpr = window.devicePixelRatio || 1;
    canvas.width = Math.round(cw * dpr);
    canvas.height = Math.round(ch * dpr);
    if (!fitted) {
      fitted = true;
      fit();
    } else {
      view.x = cw / 2 - cx * view.s;
      view.y = ch / 2 - cy * view.s;
      changed();
    }
  }

  // ---- picture sources: one mosaic image, or a deep-zoom pyramid in one PMTiles archive ----------
  // A page opened from file:// cannot read a file by ranges: it shows the mosaic overview instead.
  let drawPicture, source;
  if (data.tiles && location.protocol !== "file:" && window.pmtiles) {
    source = "tiles";
    drawPicture = pyramidSource(data.tiles, tilesUrl);
  } else {
    if (data.tiles && !data.keyfile) {
      $("hint").textContent = "Deep zoom: serve this folder over HTTP with range requests";
    }
    useMosaic();
  }
  function useMosaic() {
    source = "mosaic";
    drawPicture = mosaicUrl ? mosaicSource(mosaicUrl) : () => markFailed("the mosaic");
    drawPicture.cellPicture = drawPicture.cellPicture || (() => Promise.resolve(null));
  }

  function markReady() {
    if (ready) return;
    ready = true;
    message.textContent = "";
    document.body.dataset.state = "ready";
    requestDraw();
  }
  function markFailed(what) {
    failed = true;
    message.textContent = "Could not load " + what + ".";
    document.body.dataset.state = "error";
  }

  // device-pixel destination of a world rectangle, snapped to whole pixels so tiles meet without seams
  function snapped(wx0, wy0, wx1, wy1) {
    const x0 = Math.round((view.x + wx0 * view.s) * dpr), y0 = Math.round((view.y + wy0 * view.s) * dpr);
    const x1 = Math.round((view.x + wx1 * view.s) * dpr), y1 = Math.round((view.y + wy1 * view.s) * dpr);
    return [x0, y0, x1 - x0, y1 - y0];
  }
  function visibleWorld() {
    return [
      Math.max(0, -view.x / view.s), Math.max(0, -view.y / view.s),
      Math.min(W, (cw - view.x) / view.s), Math.min(H, (ch - view.y) / view.s),
    ];
  }

  function mosaicSource(url) {
    // the picture plus halved copies of it, so that zoomed-out frames scale a small copy, not a huge one
    const img = new Image();
    const copies = [];
    img.decoding = "async";
    img.onload = async () => {
      // a decoded bitmap: drawing part of a big JPEG image element can decode all of it again
      const full = window.createImageBitmap ? await createImageBitmap(img).catch(() => img) : img;
      copies.push(full);
      let prev = full, w = img.naturalWidth, h = img.naturalHeight;
      while (Math.max(w, h) > 2048) {
        w = Math.ceil(w / 2);
        h = Math.ceil(h / 2);
        const c = document.createElement("canvas");
        c.width = w;
        c.height = h;
        const g = c.getContext("2d");
        g.imageSmoothingQuality = "high";
        g.drawImage(prev, 0, 0, w, h);
        copies.push(c);
        prev = c;
      }
      markReady();
    };
    img.onerror = () => markFailed("the mosaic");
    img.src = url;
    const drawMosaic = () => {
      if (!ready) return;
      let src = copies[0];
      for (let j = copies.length - 1; j >= 0; j--) {
        // the smallest copy that still has a source pixel for every device pixel
        if (copies[j].width / W >= view.s * dpr || j === 0) {
          src = copies[j];
          break;
        }
      }
      const nw = src.width, nh = src.height;
      const kx = nw / W, ky = nh / H; // source pixels per world pixel
      const [wx0, wy0, wx1, wy1] = visibleWorld();
      if (wx1 <= wx0 || wy1 <= wy0) return;
      const sx0 = Math.floor(wx0 * kx), sy0 = Math.floor(wy0 * ky);
      const sx1 = Math.min(nw, Math.ceil(wx1 * kx)), sy1 = Math.min(nh, Math.ceil(wy1 * ky));
      ctx.imageSmoothingEnabled = (view.s * dpr) / kx < 1; // crisp pixels once magnified
      ctx.imageSmoothingQuality = "high";
      const [dx, dy, dw, dh] = snapped(sx0 / kx, sy0 / ky, sx1 / kx, sy1 / ky);
      ctx.drawImage(src, sx0, sy0, sx1 - sx0, sy1 - sy0, dx, dy, dw, dh);
    };
    // the cell's pixels at the mosaic's resolution, drawn onto `target`
    drawMosaic.cellPicture = async (row, col, target) => {
      if (!ready) return null;
      const full = copies[0], kx = full.width / W, ky = full.height / H;
      target.width = Math.max(1, Math.round(cell * kx));
      target.height = Math.max(1, Math.round(cell * ky));
      target.getContext("2d").drawImage(
        full, col * cell * kx, row * cell * ky, cell * kx, cell * ky, 0, 0, target.width, target.height);
      return target;
    };
    return drawMosaic;
  }

  function pyramidSource(info, url) {
    // every tile is one range request into the archive; tile (z, x, y) = (level, col, row)
    const archive = new pmtiles.PMTiles(new pmtiles.FetchSource(url));
    const type = info.format === "png" ? "image/png" : "image/jpeg";
    const top = info.levels - 1, ts = info.tile_size;
    const k = info.width / W; // full-resolution pyramid pixels per world pixel
    const cache = new Map(); // "level/col/row" -> {img, ok, failed, used, done}
    let wanted = [], inflight = 0, clock = 0;
    const levelSize = (lv) => {
      const f = 2 ** (top - lv);
      return [Math.ceil(info.width / f), Math.ceil(info.height / f)];
    };
    async function decode(lv, c, r) {
      const tile = await archive.getZxy(lv, c, r);
      if (!tile) throw new Error("no tile " + lv + "/" + c + "/" + r);
      return createImageBitmap(new Blob([tile.data], { type }));
    }
    function request(id, lv, c, r) {
      const entry = { img: null, ok: false, failed: false, used: clock };
      cache.set(id, entry);
      inflight++;
      entry.done = decode(lv, c, r).then(
        (img) => {
          entry.img = img;
          entry.ok = true;
          if (lv === 0) markReady();
          requestDraw();
        },
        () => {
          entry.failed = true;
          if (lv === 0) {
            // no archive to read (or not readable by ranges): the overview, if there is one
            if (mosaicUrl) useMosaic();
            else markFailed("the tiles");
          }
        },
      ).finally(() => {
        inflight--;
        pump();
      });
      return entry;
    }
    function pump() {
      while (inflight < 8 && wanted.length) {
        const [id, lv, c, r] = wanted.shift();
        if (!cache.has(id)) request(id, lv, c, r);
      }
      if (cache.size > 768) evict();
    }
    function evict() {
      const old = [...cache.entries()].filter(([, e]) => e.ok || e.failed).sort((a, b) => a[1].used - b[1].used);
      for (const [id, e] of old.slice(0, cache.size - 512)) {
        if (e.img) e.img.close();
        cache.delete(id);
      }
    }
    request("0/0/0", 0, 0, 0);

    const drawTiles = () => {
      clock++;
      const need = Math.log2((view.s * dpr) / k);
      const level = clamp(top + Math.ceil(need - 0.2), 0, top);
      const [wx0, wy0, wx1, wy1] = visibleWorld();
      if (wx1 <= wx0 || wy1 <= wy0) return;
      wanted = [];
      for (let lv = 0; lv <= level; lv++) {
        const f = k * 2 ** (lv - top); // level pixels per world pixel
        const [lw, lh] = levelSize(lv);
        const c0 = Math.floor((wx0 * f) / ts), c1 = Math.min(Math.ceil(lw / ts), Math.ceil((wx1 * f) / ts));
        const r0 = Math.floor((wy0 * f) / ts), r1 = Math.min(Math.ceil(lh / ts), Math.ceil((wy1 * f) / ts));
        ctx.imageSmoothingEnabled = (view.s * dpr) / f < 1;
        ctx.imageSmoothingQuality = "high";
        for (let r = r0; r < r1; r++) {
          for (let c = c0; c < c1; c++) {
            const id = lv + "/" + c + "/" + r;
            const entry = cache.get(id);
            if (entry && entry.ok) {
              entry.used = clock;
              const tw = Math.min(ts, lw - c * ts), th = Math.min(ts, lh - r * ts);
              const [dx, dy, dw, dh] = snapped(
                (c * ts) / f, (r * ts) / f, (c * ts + tw) / f, (r * ts + th) / f);
              ctx.drawImage(entry.img, 0, 0, tw, th, dx, dy, dw, dh);
            } else if (!entry && lv === level) {
              wanted.push([id, lv, c, r]);
            }
          }
        }
      }
      // nearest the centre first
      const mid = [(wx0 + wx1) / 2, (wy0 + wy1) / 2], f = k * 2 ** (level - top);
      const dist = (t) => Math.hypot((t[2] + 0.5) * ts / f - mid[0], (t[3] + 0.5) * ts / f - mid[1]);
      wanted.sort((a, b) => dist(a) - dist(b));
      pump();
    };
    drawTiles.busy = () => inflight > 0 || wanted.length > 0;
    // the cell at full resolution, from the finest tiles it lies on, drawn onto `target`
    drawTiles.cellPicture = async (row, col, target) => {
      const px = info.tile_px, x0 = col * px, y0 = row * px;
      target.width = target.height = px;
      const g = target.getContext("2d");
      const jobs = [];
      for (let r = Math.floor(y0 / ts); r <= Math.floor((y0 + px - 1) / ts); r++) {
        for (let c = Math.floor(x0 / ts); c <= Math.floor((x0 + px - 1) / ts); c++) {
          const id = top + "/" + c + "/" + r;
          const entry = cache.get(id) || request(id, top, c, r);
          jobs.push(entry.done.then(() => {
            if (entry.ok) g.drawImage(entry.img, c * ts - x0, r * ts - y0);
          }));
        }
      }
      await Promise.all(jobs);
      return target;
    };
    return drawTiles;
  }

  // ---- drawing ------------------------------------------------------------------------------------
  let drawPending = false;
  function requestDraw() {
    if (!drawPending) {
      drawPending = true;
      requestAnimationFrame(draw);
    }
  }
  function draw() {
    drawPending = false;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (failed) return;
    drawPicture();
    if (!ready) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const side = cell * view.s;
    const [wx0, wy0, wx1, wy1] = visibleWorld();
    if (masks) {
      // one mask pixel per cell, so the cost does not depend on how many cells match
      const c0 = Math.floor(wx0 / cell), r0 = Math.floor(wy0 / cell);
      const c1 = Math.min(cols, Math.ceil(wx1 / cell)), r1 = Math.min(rows, Math.ceil(wy1 / cell));
      if (c1 > c0 && r1 > r0) {
        ctx.setTransform(1, 0, 0, 1, 0, 0);
        ctx.imageSmoothingEnabled = false;
        const dest = snapped(c0 * cell, r0 * cell, c1 * cell, r1 * cell);
        ctx.drawImage(masks.dim, c0, r0, c1 - c0, r1 - r0, ...dest);
        if (side < 6) ctx.drawImage(masks.dots, c0, r0, c1 - c0, r1 - r0, ...dest);
        ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
        if (side >= 6) {
          ctx.strokeStyle = "#ffb020";
          ctx.lineWidth = clamp(side / 24, 1, 3);
          for (let r = r0; r < r1; r++) {
            for (let c = c0; c < c1; c++) {
              if (!masks.flag[r * cols + c]) continue;
              const b = cellScreenRect(r * cols + c);
              ctx.strokeRect(b.x + 0.5, b.y + 0.5, b.w - 1, b.h - 1);
            }
          }
        }
      }
    }
    if (hoverCell >= 0 && hoverCell !== selectedCell && names.get(hoverCell)) {
      outline(hoverCell, "rgba(0, 0, 0, 0.8)", 3);
      outline(hoverCell, "rgba(255, 255, 255, 0.9)", 1);
    }
    if (selectedCell >= 0) {
      outline(selectedCell, "#000", 4);
      outline(selectedCell, "#fff", 2);
    }
  }
  function outline(c, colour, width) {
    const r = cellScreenRect(c), grow = r.w < 8 ? 3 : 0;
    ctx.strokeStyle = colour;
    ctx.lineWidth = width;
    ctx.strokeRect(r.x - grow - width / 2, r.y - grow - width / 2, r.w + 2 * grow + width, r.h + 2 * grow + width);
  }

  // ---- hover, selection, opening originals ------------------------------------------------------
  let tipAt = null; // where the tooltip points: [cell, x, y]
  function hideTooltip() {
    tooltip.hidden = true;
    tipAt = null;
  }
  function showTooltip(c, sx, sy) {
    const d = describe(c);
    if (d.key === null && !d.loading) {
      hideTooltip();
      return;
    }
    tipAt = [c, sx, sy];
    $("tooltip-key").textContent = d.loading ? "Reading the key\u2026" : d.key;
    $("tooltip-pos").textContent = "row " + d.row + " \u00b7 col " + d.col + (d.url ? " \u00b7 click to open" : "");
    tooltip.hidden = false;
    const tw = tooltip.offsetWidth, th = tooltip.offsetHeight;
    tooltip.style.left = (sx + 14 + tw > cw ? Math.max(4, sx - 14 - tw) : sx + 14) + "px";
    tooltip.style.top = (sy + 18 + th > ch ? Math.max(4, sy - 12 - th) : sy + 18) + "px";
  }
  function setHover(c) {
    if (c === hoverCell) return;
    hoverCell = c;
    const d = describe(c);
    canvas.classList.toggle("link", !!(d.url));
    updateStatus();
    requestDraw();
  }
  function select(c) {
    selectedCell = c;
    updateStatus();
    requestDraw();
  }
  function updateStatus() {
    const c = hoverCell >= 0 && names.get(hoverCell) !== null ? hoverCell : selectedCell;
    const d = c >= 0 ? describe(c) : null;
    if (!d) {
      statusCell.textContent = "";
      statusOpen.hidden = true;
      return;
    }
    const what = d.loading ? "reading the key\u2026" : d.key === null ? "empty cell" : d.key;
    statusCell.textContent = what + "  \u2014  row " + d.row + ", col " + d.col;
    if (d.url) {
      statusOpen.href = d.url;
      statusOpen.hidden = false;
    } else {
      statusOpen.hidden = true;
      statusOpen.removeAttribute("href");
    }
  }
  function safeUrl(u) {
    try {
      const p = new URL(u, document.baseURI).protocol;
      return p === "http:" || p === "https:" || p === "file:";
    } catch (e) {
      return false;
    }
  }
  function openCell(c) {
    const d = describe(c);
    showPreview(c);
    if (d.url && safeUrl(d.url)) window.open(d.url, "_blank", "noopener,noreferrer");
  }
  // a block of keys was read: show what waited for it
  function keysArrived() {
    updateStatus();
    if (hoverCell >= 0) canvas.classList.toggle("link", !!describe(hoverCell).url);
    if (tipAt) showTooltip(...tipAt);
    if (previewFor >= 0) previewLabels(previewFor);
    requestDraw();
  }

  // ---- preview: the picture larger, with its key, from what the page already reads ---------------
  const preview = $("preview"), previewCanvas = $("preview-canvas");
  let previewFor = -1, previewShown = -1;
  function showPreview(c) {
    const d = describe(c);
    if (d.key === null && !d.loading) return;
    previewFor = c;
    previewShown = -1;
    previewLabels(c);
    preview.hidden = false;
    previewCanvas.hidden = true;
    const picture = drawPicture.cellPicture ? drawPicture.cellPicture(d.row, d.col, previewCanvas) : null;
    Promise.resolve(picture).then((shown) => {
      if (previewFor !== c || !shown) return;
      previewCanvas.hidden = false;
      previewShown = c;
    });
  }
  function previewLabels(c) {
    const d = describe(c);
    $("preview-key").textContent = d.loading ? "Reading the key\u2026" : d.key || "";
    $("preview-pos").textContent = "row " + d.row + " \u00b7 col " + d.col;
    const open = $("preview-open");
    if (d.url && safeUrl(d.url)) open.href = d.url;
    else open.removeAttribute("href");
    open.hidden = !open.href;
  }
  function hidePreview() {
    preview.hidden = true;
    previewFor = previewShown = -1;
  }
  $("preview-close").addEventListener("click", hidePreview);

  // ---- pointer: drag to pan, pinch to zoom, click to open ----------------------------------------
  const pointers = new Map();
  let drag = null, pinch = null;
  const local = (e) => {
    const r = canvas.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  };
  canvas.addEventListener("pointerdown", (e) => {
    if (e.pointerType === "mouse" && e.button !== 0) return;
    canvas.setPointerCapture(e.pointerId);
    pointers.set(e.pointerId, local(e));
    if (pointers.size === 1) {
      const [x, y] = local(e);
      drag = { x, y, x0: x, y0: y, moved: false };
    } else if (pointers.size === 2) {
      drag = null;
      const [a, b] = [...pointers.values()];
      pinch = { d: Math.hypot(a[0] - b[0], a[1] - b[1]), m: [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2] };
    }
  });
  canvas.addEventListener("pointermove", (e) => {
    const [x, y] = local(e);
    if (pointers.has(e.pointerId)) pointers.set(e.pointerId, [x, y]);
    if (pinch && pointers.size === 2) {
      const [a, b] = [...pointers.values()];
      const d = Math.hypot(a[0] - b[0], a[1] - b[1]), m = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
      view.x += m[0] - pinch.m[0];
      view.y += m[1] - pinch.m[1];
      if (pinch.d > 0) zoomAt(d / pinch.d, m[0], m[1]);
      pinch = { d, m };
      return;
    }
    if (drag) {
      if (!drag.moved && Math.hypot(x - drag.x0, y - drag.y0) > 4) {
        drag.moved = true;
        canvas.classList.add("dragging");
      }
      if (drag.moved) {
        panBy(x - drag.x, y - drag.y);
        drag.x = x;
        drag.y = y;
        return;
      }
    }
    const c = cellAtScreen(x, y);
    setHover(c);
    if (c >= 0) showTooltip(c, x, y);
    else hideTooltip();
  });
  function endPointer(e) {
    const was = drag;
    pointers.delete(e.pointerId);
    if (pointers.size < 2) pinch = null;
    if (pointers.size === 0) {
      drag = null;
      canvas.classList.remove("dragging");
    }
    return was;
  }
  canvas.addEventListener("pointerup", (e) => {
    const was = endPointer(e);
    if (was && !was.moved && e.type === "pointerup") {
      const c = cellAtScreen(...local(e));
      if (c >= 0) {
        whenKnown(c, () => {
          if (!names.get(c)) return;
          select(c);
          openCell(c);
        });
      }
    }
  });
  canvas.addEventListener("pointercancel", endPointer);
  canvas.addEventListener("pointerleave", () => {
    if (!drag) {
      setHover(-1);
      hideTooltip();
    }
  });
  canvas.addEventListener("wheel", (e) => {
    e.preventDefault();
    const unit = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? ch : 1;
    const [x, y] = local(e);
    zoomAt(Math.exp(-e.deltaY * unit * (e.ctrlKey ? 0.01 : 0.002)), x, y);
  }, { passive: false });

  // ---- search -------------------------------------------------------------------------------------
  let searchTimer = 0, searchRun = 0;
  async function runSearch(q) {
    const run = ++searchRun;
    q = q.trim().toLowerCase();
    matches = [];
    matchAt = -1;
    if (q) {
      let all = names.all();
      if (!all) {
        // a key file: every block is read once, on the first search
        masks = null;
        requestDraw();
        searchCount.classList.remove("none");
        searchCount.value = "Reading keys\u2026";
        all = await names.loadAll((share) => {
          if (run === searchRun) searchCount.value = "Reading keys " + Math.floor(100 * share) + "%";
        });
        if (run !== searchRun) return;
      }
      if (!lowerKeys) lowerKeys = all.keys.map((s) => s.toLowerCase());
      for (let i = 0; i < lowerKeys.length; i++) if (lowerKeys[i].includes(q)) matches.push(all.cells[i]);
    }
    masks = matches.length ? matchMasks() : null;
    $("prev-match").disabled = $("next-match").disabled = matches.length < 2;
    searchCount.classList.toggle("none", !!q && !matches.length);
    if (!q) searchCount.value = "";
    else if (!matches.length) searchCount.value = "No matches";
    if (matches.length) goToMatch(0);
    else requestDraw();
  }
  function matchMasks() {
    const flag = new Uint8Array(rows * cols);
    for (const c of matches) flag[c] = 1;
    const paint = (on, off) => {
      const c = document.createElement("canvas");
      c.width = cols;
      c.height = rows;
      const g = c.getContext("2d"), img = g.createImageData(cols, rows), d = img.data;
      for (let i = 0; i < flag.length; i++) d.set(flag[i] ? on : off, 4 * i);
      g.putImageData(img, 0, 0);
      return c;
    };
    return {
      flag,
      dim: paint([0, 0, 0, 0], [10, 10, 12, 184]),
      dots: paint([255, 176, 32, 255], [0, 0, 0, 0]),
    };
  }
  function goToMatch(k) {
    if (!matches.length) return;
    matchAt = ((k % matches.length) + matches.length) % matches.length;
    searchCount.value = fmt.format(matchAt + 1) + " of " + fmt.format(matches.length);
    const c = matches[matchAt];
    hoverCell = -1;
    select(c);
    ensureVisible(c, 64);
  }
  searchInput.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => runSearch(searchInput.value), 120);
  });
  $("search-form").addEventListener("submit", (e) => {
    e.preventDefault();
    clearTimeout(searchTimer);
    if (!matches.length) runSearch(searchInput.value);
    else goToMatch(matchAt + 1);
  });
  searchInput.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && e.shiftKey) {
      e.preventDefault();
      goToMatch(matchAt - 1);
    } else if (e.key === "Escape") {
      e.preventDefault();
      searchInput.value = "";
      runSearch("");
      canvas.focus();
    }
  });
  $("next-match").addEventListener("click", () => goToMatch(matchAt + 1));
  $("prev-match").addEventListener("click", () => goToMatch(matchAt - 1));

  // ---- buttons and keyboard -----------------------------------------------------------------------
  $("zoom-in").addEventListener("click", () => zoomCenter(1.5));
  $("zoom-out").addEventListener("click", () => zoomCenter(1 / 1.5));
  $("fit").addEventListener("click", fit);
  const help = $("help");
  $("help-button").addEventListener("click", () => help.showModal());
  $("help-close").addEventListener("click", () => help.close());

  window.addEventListener("keydown", (e) => {
    if (e.target instanceof HTMLInputElement || help.open || e.ctrlKey || e.metaKey || e.altKey) return;
    const step = e.shiftKey ? null : { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] }[e.key];
    const pan = e.shiftKey ? { ArrowLeft: [1, 0], ArrowRight: [-1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] }[e.key] : null;
    let handled = true;
    if (e.key === "+" || e.key === "=") zoomCenter(1.5);
    else if (e.key === "-" || e.key === "_") zoomCenter(1 / 1.5);
    else if (e.key === "0") fit();
    else if (e.key === "/") searchInput.focus();
    else if (e.key === "?") help.showModal();
    else if (e.key === "n") goToMatch(matchAt + 1);
    else if (e.key === "N") goToMatch(matchAt - 1);
    else if (e.key === "Escape" && matches.length) {
      searchInput.value = "";
      runSearch("");
    } else if (e.key === "Escape" && !preview.hidden) hidePreview();
    else if (e.key === "Enter" && selectedCell >= 0 && e.target === canvas) {
      const c = selectedCell;
      whenKnown(c, () => openCell(c));
    } else if (pan) panBy(pan[0] * cw * 0.2, pan[1] * ch * 0.2);
    else if (step) {
      let c = selectedCell;
      if (c < 0) c = cellAtScreen(cw / 2, ch / 2);
      if (c < 0) c = 0;
      else {
        const r = clamp(Math.floor(c / cols) + step[0], 0, rows - 1);
        const k = clamp((c % cols) + step[1], 0, cols - 1);
        c = r * cols + k;
      }
      canvas.focus();
      select(c);
      ensureVisible(c, 0);
    } else handled = false;
    if (handled) e.preventDefault();
  });

  // ---- summary ------------------------------------------------------------------------------------
  function summary() {
    const sk = data.skipped, du = data.duplicates;
    const parts = [fmt.format(N) + " placed", fmt.format(sk.count) + " skipped", fmt.format(du.count) + " duplicates"];
    const q = data.quality;
    if (q) parts.push("DPQ16 " + q.dpq16.toFixed(3), "neighbours " + Math.round(100 * q.neighbours) + "%");
    $("summary-text").textContent = parts.join(" \u00b7 ") + "  \u00b7  " + rows + "\u00d7" + cols + " grid";
    const panel = $("summary-panel");
    if (q) {
      const h = document.createElement("h2");
      h.textContent = "Quality";
      const p = document.createElement("p");
      p.id = "quality";
      p.textContent = q.text;
      panel.append(h, p);
    }
    const section = (title, items, total, note) => {
      const h = document.createElement("h2");
      h.textContent = title + " (" + fmt.format(total) + ")";
      panel.append(h);
      const ul = document.createElement("ul");
      for (const it of items) {
        const li = document.createElement("li");
        li.textContent = it.key + " ";
        const span = document.createElement("span");
        span.textContent = note(it);
        li.append(span);
        ul.append(li);
      }
      if (total > items.length) {
        const li = document.createElement("li");
        li.textContent = "\u2026 and " + fmt.format(total - items.length) + " more (see layout.json)";
        ul.append(li);
      }
      panel.append(ul);
    };
    if (!sk.count && !du.count) {
      const p = document.createElement("p");
      p.textContent = "Every input image is placed on the grid.";
      panel.append(p);
      return;
    }
    if (sk.count) section("Skipped", sk.items, sk.count, (it) => "\u2014 " + it.reason);
    if (du.count) section("Duplicates", du.items, du.count, (it) => "= " + it.same_as);
  }
  summary();

  // ---- start --------------------------------------------------------------------------------------
  new ResizeObserver(resize).observe(stage);
  resize();

  // A small API for integrations and tests: cell geometry in client (page) coordinates, state.
  window.gridtsneViewer = Object.freeze({
    view: () => ({ scale: view.s, x: view.x, y: view.y, fitScale: fitScale() }),
    ready: () => ready,
    // "tiles" (the deep-zoom archive) or "mosaic"
    source: () => source,
    // the cell the preview shows, once its picture is drawn
    preview: () => (previewShown >= 0 ? describe(previewShown) : null),
    // true once everything the current view needs is loaded and drawn
    idle: () => (ready || failed) && !drawPending && !(drawPicture.busy && drawPicture.busy()),
    cellRect(row, col) {
      const r = cellScreenRect(row * cols + col), b = canvas.getBoundingClientRect();
      return { x: b.left + r.x, y: b.top + r.y, width: r.w, height: r.h };
    },
    cell: (row, col) => describe(row * cols + col),
    selected: () => (selectedCell >= 0 ? describe(selectedCell) : null),
    matches: () => matches.map(describe),
    search(q) {
      searchInput.value = q;
      runSearch(q);
    },
    zoom: zoomCenter,
    fit,
  });
})();
