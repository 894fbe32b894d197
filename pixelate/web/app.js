// Pixelator upload page: preview in the browser, upload through a presigned POST, follow the status.
// Plain JavaScript, no framework and no build: served as-is by CloudFront and by the local edge.
"use strict";

(() => {
  // ---- settings -------------------------------------------------------------------------------------

  const PIXEL_SIZE_MIN = 2;
  const PIXEL_SIZE_MAX = 128;
  const PIXEL_SIZE_DEFAULT = 16;
  // The preview works on a copy at most this many pixels on its longer side: block means over that copy
  // are within a level or two of the full-size ones, and a 12 MP photo re-renders in milliseconds.
  const PREVIEW_WORK_MAX = 1024;
  // How many files upload at the same time.
  const PARALLEL_UPLOADS = 3;
  // Polling: first look soon (small images finish in well under a second), then back off.
  const POLL_FIRST_MS = 300;
  const POLL_FACTOR = 1.5;
  const POLL_MAX_MS = 4000;
  const POLL_SLOW_NOTICE_MS = 60_000;
  const POLL_GIVE_UP_MS = 10 * 60_000;
  // The api path, relative to the page: the page and the api share one origin (CloudFront, local edge).
  const API_UPLOADS = "api/uploads";

  // ---- words a person understands -------------------------------------------------------------------

  // The processing reasons of a failed status record (pixelate.REASONS), in plain words.
  const FAILURE_TEXT = {
    "unsupported-format": "This file is not an image we can read. Try a JPEG, PNG, GIF, WebP, HEIC, AVIF, TIFF or BMP image.",
    "corrupt": "This image is damaged or incomplete, so it could not be opened. Try saving or exporting it again.",
    "too-large": "This image is too large for the service. Try a smaller or lower-resolution copy.",
    "empty": "This file is empty: there is nothing in it to pixelate.",
    "too-many-frames": "This animation or multi-page file has too many frames for the service.",
    "invalid-option": `The pixel size or method was not accepted. Pick a pixel size from ${PIXEL_SIZE_MIN} to ${PIXEL_SIZE_MAX}.`,
  };

  // Error codes of POST /api/uploads (4xx, pixelate/api.py), in plain words; an unknown code shows the
  // api's own message. "invalid-size" is told apart by the file: empty, or larger than the service takes.
  const NOT_AN_IMAGE = "This file is not an image, so it cannot be pixelated. Choose a photo or picture file.";
  const API_ERROR_TEXT = {
    "invalid-content-type": NOT_AN_IMAGE,
    "unsupported-format": NOT_AN_IMAGE,
    "invalid-filename": "This file's name cannot be used. Rename the file and try again.",
    "invalid-pixel-size": FAILURE_TEXT["invalid-option"],
    "invalid-method": FAILURE_TEXT["invalid-option"],
    "invalid-option": FAILURE_TEXT["invalid-option"],
    "too-large": "This file is too large to upload. Try a smaller or lower-resolution copy.",
    "empty": FAILURE_TEXT.empty,
    "unavailable": "The service is busy or briefly unavailable. Please try again in a moment.",
  };

  // S3's XML error codes for a refused presigned POST.
  const STORAGE_ERROR_TEXT = {
    EntityTooLarge: FAILURE_TEXT["too-large"],
    EntityTooSmall: FAILURE_TEXT.empty,
    AccessDenied: "The upload was refused, perhaps because the upload link expired. Please try again.",
  };

  // Content types for files the browser leaves untyped (HEIC on many systems, for one).
  const TYPE_BY_EXTENSION = {
    jpg: "image/jpeg", jpeg: "image/jpeg", png: "image/png", gif: "image/gif", webp: "image/webp",
    heic: "image/heic", heif: "image/heif", avif: "image/avif", tif: "image/tiff", tiff: "image/tiff",
    bmp: "image/bmp", psd: "image/vnd.adobe.photoshop", mpo: "image/jpeg",
  };

  const EXTENSION_BY_TYPE = {
    "image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp",
    "image/avif": "avif", "image/heic": "heic", "image/tiff": "tiff", "image/bmp": "bmp",
  };

  // ---- small pure helpers ---------------------------------------------------------------------------

  function clampPixelSize(value) {
    const n = Math.round(Number(value));
    if (!Number.isFinite(n)) return PIXEL_SIZE_DEFAULT;
    return Math.min(PIXEL_SIZE_MAX, Math.max(PIXEL_SIZE_MIN, n));
  }

  function contentTypeOf(file) {
    if (file.type) return file.type;
    const ext = (file.name.split(".").pop() || "").toLowerCase();
    return TYPE_BY_EXTENSION[ext] || "application/octet-stream";
  }

  function formatBytes(bytes) {
    if (!Number.isFinite(bytes)) return "";
    if (bytes < 1024) return `${bytes} bytes`;
    if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KB`;
    return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  }

  function plural(n, one, many) {
    return `${n} ${n === 1 ? one : many}`;
  }

  function downloadName(filename, pixelSize, contentType) {
    const stem = filename.replace(/\.[^.]*$/, "") || "image";
    const ext = EXTENSION_BY_TYPE[contentType] || (filename.includes(".") ? filename.split(".").pop() : "img");
    return `${stem}-pixelated-${pixelSize}.${ext}`;
  }

  function describeFailure(record) {
    const words = FAILURE_TEXT[record.reason];
    if (words) return words;
    return record.message || "Something went wrong while pixelating this image.";
  }

  function describeApiError(status, body, file) {
    const code = body && typeof body.error === "string" ? body.error : "";
    if (code === "invalid-size" && file) return file.size === 0 ? API_ERROR_TEXT.empty : API_ERROR_TEXT["too-large"];
    if (API_ERROR_TEXT[code]) return API_ERROR_TEXT[code];
    if (status === 413) return API_ERROR_TEXT["too-large"];
    if (status === 415) return NOT_AN_IMAGE;
    if (status >= 500 || status === 429) return API_ERROR_TEXT.unavailable;
    if (body && typeof body.message === "string" && body.message) return `The service refused this upload: ${body.message}.`;
    return `The service refused this upload (HTTP ${status}). Please try again.`;
  }

  function describeStorageError(status, xmlText) {
    const code = (/<Code>([^<]+)<\/Code>/.exec(xmlText || "") || [])[1];
    if (code && STORAGE_ERROR_TEXT[code]) return STORAGE_ERROR_TEXT[code];
    if (status === 0) return "The upload did not get through. Check your connection and try again.";
    return `The upload was refused by storage (HTTP ${status}${code ? `, ${code}` : ""}). Please try again.`;
  }

  function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  // Block edges of a grid of `size`-pixel blocks over `length` pixels, anchored at 0, the last block
  // partial: the server's grid (pixelate/ops.py), so the preview shows exactly the blocks it will make.
  function blockEdges(length, size) {
    const edges = [];
    for (let start = 0; start < length; start += size) edges.push(start);
    edges.push(length);
    return edges;
  }

  // The same edges on a copy scaled by `scale`: every block keeps at least one pixel of the copy.
  function scaledEdges(edges, scale, scaledLength) {
    return edges.map((e, i) => {
      if (i === edges.length - 1) return scaledLength;
      return Math.min(scaledLength - 1, Math.floor(e * scale));
    });
  }

  // The mean colour of each block, as the server computes it: alpha-weighted (transparent pixels lend no
  // colour). `source` is ImageData of the (possibly scaled) copy; returns ImageData of cols × rows.
  function blockColours(source, xEdges, yEdges) {
    const cols = xEdges.length - 1;
    const rows = yEdges.length - 1;
    const out = new ImageData(cols, rows);
    const src = source.data;
    const width = source.width;
    const dst = out.data;
    for (let by = 0; by < rows; by++) {
      const y0 = yEdges[by];
      const y1 = Math.max(y0 + 1, yEdges[by + 1]);
      for (let bx = 0; bx < cols; bx++) {
        const x0 = xEdges[bx];
        const x1 = Math.max(x0 + 1, xEdges[bx + 1]);
        const o = (by * cols + bx) * 4;
        let r = 0, g = 0, b = 0, a = 0;
        for (let y = y0; y < y1; y++) {
          let i = (y * width + x0) * 4;
          for (let x = x0; x < x1; x++, i += 4) {
            const alpha = src[i + 3];
            r += src[i] * alpha; g += src[i + 1] * alpha; b += src[i + 2] * alpha; a += alpha;
          }
        }
        const count = (x1 - x0) * (y1 - y0);
        if (a > 0) {
          dst[o] = Math.round(r / a); dst[o + 1] = Math.round(g / a); dst[o + 2] = Math.round(b / a);
        }
        dst[o + 3] = Math.round(a / count);
      }
    }
    return out;
  }

  // ---- preview --------------------------------------------------------------------------------------

  // Decodes the file once into a working copy (ImageData) for previews. The browser applies EXIF
  // orientation when drawing an image, as the server does, so the preview is upright like the result.
  async function loadWorkingCopy(img) {
    const width = img.naturalWidth;
    const height = img.naturalHeight;
    const scale = Math.min(1, PREVIEW_WORK_MAX / Math.max(width, height));
    const w = Math.max(1, Math.round(width * scale));
    const h = Math.max(1, Math.round(height * scale));
    const canvas = document.createElement("canvas");
    canvas.width = w;
    canvas.height = h;
    const ctx = canvas.getContext("2d", { willReadFrequently: true });
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(img, 0, 0, w, h);
    return { image: img, width, height, scaleX: w / width, scaleY: h / height, data: ctx.getImageData(0, 0, w, h) };
  }

  // The centre pixel of each block along one side: start + floor(length / 2), the partial last block's
  // centre included, as pixelate/ops.py samples them.
  function blockCentres(length, size) {
    const centres = [];
    for (let start = 0; start < length; start += size) {
      centres.push(start + ((Math.min(length, start + size) - start) >> 1));
    }
    return centres;
  }

  // "nearest" from the full-resolution image at any size, exactly: 1:1 copies only (no resampling that
  // could round a sample point to the neighbouring pixel), first each block's centre row, then each
  // block's centre column of those rows. Draw calls: rows + columns.
  function sampledBlocks(image, width, height, size) {
    const xs = blockCentres(width, size);
    const ys = blockCentres(height, size);
    const rows = document.createElement("canvas");
    rows.width = width;
    rows.height = ys.length;
    const rowsCtx = rows.getContext("2d");
    rowsCtx.imageSmoothingEnabled = false;
    ys.forEach((y, r) => rowsCtx.drawImage(image, 0, y, width, 1, 0, r, width, 1));
    const small = document.createElement("canvas");
    small.width = xs.length;
    small.height = ys.length;
    const smallCtx = small.getContext("2d");
    smallCtx.imageSmoothingEnabled = false;
    xs.forEach((x, c) => smallCtx.drawImage(rows, x, 0, 1, ys.length, c, 0, 1, ys.length));
    return small;
  }

  // "average" from the working copy: exact when the photo is at most PREVIEW_WORK_MAX pixels on its
  // longer side, within a level or two per block (median) on larger ones.
  function averagedBlocks(work, size) {
    const blocks = blockColours(
      work.data,
      scaledEdges(blockEdges(work.width, size), work.scaleX, work.data.width),
      scaledEdges(blockEdges(work.height, size), work.scaleY, work.data.height),
    );
    const small = document.createElement("canvas");
    small.width = blocks.width;
    small.height = blocks.height;
    small.getContext("2d").putImageData(blocks, 0, 0);
    return small;
  }

  function drawPreview(canvas, work, pixelSize, method) {
    const small = method === "nearest"
      ? sampledBlocks(work.image, work.width, work.height, pixelSize)
      : averagedBlocks(work, pixelSize);
    // The canvas keeps the photo's aspect ratio at a size fit for the screen; CSS scales it down further.
    const displayScale = Math.min(1, (720 * (window.devicePixelRatio || 1)) / Math.max(work.width, work.height));
    canvas.width = Math.max(1, Math.round(work.width * displayScale));
    canvas.height = Math.max(1, Math.round(work.height * displayScale));
    const ctx = canvas.getContext("2d");
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    // Sharp block edges: each block pixel becomes a pixelSize square; the partial last blocks are cut
    // off at the canvas edge, exactly as the server cuts them at the image edge.
    ctx.imageSmoothingEnabled = false;
    const blockOnScreen = pixelSize * displayScale;
    ctx.drawImage(small, 0, 0, small.width * blockOnScreen, small.height * blockOnScreen);
  }

  // ---- network --------------------------------------------------------------------------------------

  // A busy service (429 Too Many Requests, 503 Unavailable) is asked again: after its Retry-After when it
  // gives one (capped), else after an exponential back-off with full jitter; RETRY_TRIES requests at most, the
  // last answer returned as it came. `onBusy(seconds)` tells the person why nothing moves.
  const RETRY_TRIES = 5;
  const RETRY_BASE_MS = 500;
  const RETRY_CAP_MS = 8000;
  const RETRY_AFTER_MAX_MS = 30_000;

  function retryDelayMs(response, attempt) {
    const header = response.headers.get("Retry-After");
    if (header) {
      const seconds = Number(header);
      const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now();
      if (Number.isFinite(ms)) return Math.min(Math.max(ms, 0), RETRY_AFTER_MAX_MS);
    }
    return Math.random() * Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** attempt);
  }

  async function fetchWithRetry(url, init, onBusy) {
    for (let attempt = 1; ; attempt++) {
      const response = await fetch(url, init);
      if ((response.status !== 429 && response.status !== 503) || attempt >= RETRY_TRIES) return response;
      const delay = retryDelayMs(response, attempt - 1);
      if (onBusy) onBusy(Math.max(1, Math.ceil(delay / 1000)));
      await sleep(delay);
    }
  }

  async function readJson(response) {
    try {
      return await response.json();
    } catch {
      return null;
    }
  }

  async function requestUpload(file, options, onBusy) {
    let response;
    try {
      response = await fetchWithRetry(API_UPLOADS, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({
          filename: file.name,
          content_type: contentTypeOf(file),
          size: file.size,
          pixel_size: options.pixelSize,
          method: options.method,
        }),
      }, onBusy);
    } catch {
      throw new Error("Could not reach the service. Check your connection and try again.");
    }
    const body = await readJson(response);
    if (!response.ok) throw new Error(describeApiError(response.status, body, file));
    if (!body || !body.id || !body.upload || !body.upload.url) {
      throw new Error("The service gave an answer this page does not understand. Please try again later.");
    }
    return body;
  }

  // The presigned POST: every signed field first, the file last (S3 ignores fields after the file).
  // XMLHttpRequest rather than fetch, because only it reports upload progress.
  function postToStorage(upload, file, onProgress) {
    return new Promise((resolve, reject) => {
      const form = new FormData();
      for (const [name, value] of Object.entries(upload.fields || {})) form.append(name, value);
      form.append("file", file, file.name);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", upload.url);
      xhr.upload.onprogress = (event) => {
        if (event.lengthComputable) onProgress(event.loaded / event.total);
      };
      xhr.onload = () => {
        if (xhr.status >= 200 && xhr.status < 300) resolve();
        else reject(new Error(describeStorageError(xhr.status, xhr.responseText)));
      };
      xhr.onerror = () => reject(new Error(describeStorageError(0, "")));
      xhr.ontimeout = () => reject(new Error("The upload took too long. Check your connection and try again."));
      xhr.send(form);
    });
  }

  // Follows GET /api/uploads/{id} until the record is final. A 404 means "no status yet"; server errors
  // are retried like a missing status, since the record will still come.
  async function followStatus(id, onSlow, onBusy) {
    const url = `${API_UPLOADS}/${encodeURIComponent(id)}`;
    const started = Date.now();
    let delay = POLL_FIRST_MS;
    let warned = false;
    for (;;) {
      await sleep(delay);
      delay = Math.min(POLL_MAX_MS, delay * POLL_FACTOR);
      const waited = Date.now() - started;
      if (waited > POLL_GIVE_UP_MS) {
        throw new Error("The service has not finished this image after ten minutes. Please try again later.");
      }
      if (!warned && waited > POLL_SLOW_NOTICE_MS) {
        warned = true;
        onSlow();
      }
      let response;
      try {
        response = await fetchWithRetry(url, { headers: { Accept: "application/json" }, cache: "no-store" }, onBusy);
      } catch {
        continue; // offline for a moment: keep trying until the give-up time
      }
      if (response.status === 404 || response.status === 429 || response.status >= 500) continue;
      const body = await readJson(response);
      if (!response.ok) throw new Error(describeApiError(response.status, body));
      if (body && (body.state === "done" || body.state === "failed")) return body;
    }
  }

  // ---- the page -------------------------------------------------------------------------------------

  const form = document.getElementById("upload-form");
  const fileInput = document.getElementById("file-input");
  const dropzone = document.getElementById("dropzone");
  const slider = document.getElementById("pixel-size");
  const sliderValue = document.getElementById("pixel-size-value");
  const uploadButton = document.getElementById("upload-button");
  const clearButton = document.getElementById("clear-button");
  const fileList = document.getElementById("file-list");
  const emptyNote = document.getElementById("empty-note");
  const cardTemplate = document.getElementById("file-card");

  /** Every file on the page: {file, card, parts, work, state, objectUrl}. */
  const entries = [];
  let renderQueued = false;

  function currentOptions() {
    const checked = form.querySelector('input[name="method"]:checked');
    return { pixelSize: clampPixelSize(slider.value), method: checked ? checked.value : "average" };
  }

  function describeOptions(options) {
    return `${options.pixelSize} px, ${options.method}`;
  }

  function refreshControls() {
    const pending = entries.filter((e) => e.state === "pending").length;
    // aria-disabled rather than disabled: a disabled button loses keyboard focus the moment it is pressed.
    uploadButton.setAttribute("aria-disabled", String(pending === 0));
    uploadButton.textContent = pending > 1 ? `Pixelate ${plural(pending, "image", "images")}` : "Pixelate";
    clearButton.hidden = !entries.some((e) => e.state === "done" || e.state === "failed");
    emptyNote.hidden = entries.length > 0;
  }

  function setState(entry, state, text) {
    entry.state = state;
    entry.card.dataset.state = state;
    entry.parts.state.textContent = text;
    entry.parts.remove.hidden = !(state === "pending" || state === "done" || state === "failed");
    // A file the browser could not show has nothing to put side by side once it has failed.
    entry.parts.pictures.hidden = state === "failed" && entry.previewable === false;
    if (state === "done" || state === "failed") entry.work = null; // the preview's pixels are not needed any more
    refreshControls();
  }

  function setProgress(entry, fraction) {
    entry.parts.progress.value = Math.round(fraction * 100);
  }

  function showError(entry, text) {
    const slot = entry.parts.errorSlot;
    slot.replaceChildren();
    const message = document.createElement("p");
    message.className = "error";
    message.setAttribute("role", "alert");
    message.dataset.testid = "error";
    message.textContent = text;
    slot.append(message);
  }

  function renderPreview(entry) {
    if (!entry.work || entry.state !== "pending") return;
    const options = currentOptions();
    drawPreview(entry.parts.preview, entry.work, options.pixelSize, options.method);
    const label = `Preview of ${entry.file.name} pixelated at ${describeOptions(options)}`;
    entry.parts.preview.setAttribute("aria-label", label);
    // What the canvas shows now, for tests and styles: the size and method it was drawn with.
    entry.parts.preview.dataset.pixelSize = String(options.pixelSize);
    entry.parts.preview.dataset.method = options.method;
    entry.parts.resultCaption.textContent = `Preview (${describeOptions(options)})`;
  }

  // Slider and method changes re-render on the next frame only, however fast the input events come.
  function queueRender() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(() => {
      renderQueued = false;
      for (const entry of entries) renderPreview(entry);
    });
  }

  function buildCard(file) {
    const card = cardTemplate.content.firstElementChild.cloneNode(true);
    const parts = {
      title: card.querySelector(".card-title"),
      meta: card.querySelector(".card-meta"),
      progress: card.querySelector(".progress"),
      state: card.querySelector(".state"),
      errorSlot: card.querySelector(".error-slot"),
      original: card.querySelector(".original-image"),
      originalFigure: card.querySelector(".picture.original"),
      preview: card.querySelector(".preview"),
      resultFigure: card.querySelector(".picture.result"),
      resultCaption: card.querySelector(".result-caption"),
      downloadRow: card.querySelector(".download-row"),
      download: card.querySelector(".download"),
      remove: card.querySelector(".remove"),
      pictures: card.querySelector(".pictures"),
    };
    parts.title.textContent = file.name;
    parts.meta.textContent = formatBytes(file.size);
    parts.progress.setAttribute("aria-label", `Upload progress of ${file.name}`);
    parts.remove.setAttribute("aria-label", `Remove ${file.name}`);
    return { card, parts };
  }

  function addFile(file) {
    const { card, parts } = buildCard(file);
    const entry = { file, card, parts, work: null, state: "pending", objectUrl: URL.createObjectURL(file) };
    entries.push(entry);
    fileList.append(card);
    setState(entry, "pending", "Ready to upload");
    parts.remove.addEventListener("click", () => removeEntry(entry));

    parts.original.alt = `Original: ${file.name}`;
    parts.original.addEventListener("load", async () => {
      const { naturalWidth: w, naturalHeight: h } = parts.original;
      parts.meta.textContent = `${w} × ${h} pixels, ${formatBytes(file.size)}`;
      try {
        entry.work = await loadWorkingCopy(parts.original);
        renderPreview(entry);
      } catch {
        parts.resultCaption.textContent = "No preview";
      }
    }, { once: true });
    parts.original.addEventListener("error", () => {
      // The browser cannot show this file; the server has the last word (it reads HEIC and TIFF, say).
      parts.original.hidden = true;
      parts.preview.hidden = true;
      entry.previewable = false;
      parts.originalFigure.querySelector("figcaption").textContent = "No preview: this browser cannot show this file";
      parts.resultCaption.textContent = "Whether it can be pixelated is decided after upload";
    }, { once: true });
    parts.original.src = entry.objectUrl;
  }

  function removeEntry(entry) {
    const index = entries.indexOf(entry);
    if (index >= 0) entries.splice(index, 1);
    entry.card.remove();
    URL.revokeObjectURL(entry.objectUrl);
    refreshControls();
    fileInput.focus();
  }

  function addFiles(fileListLike) {
    for (const file of Array.from(fileListLike || [])) addFile(file);
    refreshControls();
  }

  function formatName(contentType) {
    const ext = EXTENSION_BY_TYPE[contentType];
    return ext ? ext.toUpperCase() : "this kind of";
  }

  function finishDone(entry, record, options, shown) {
    const { parts } = entry;
    const output = record.output || {};
    parts.preview.replaceWith(shown);
    parts.resultCaption.textContent = `Pixelated (${describeOptions(options)})`;
    parts.download.href = record.image_url;
    parts.download.download = downloadName(entry.file.name, options.pixelSize, output.content_type);
    parts.download.textContent = `Download the pixelated ${entry.file.name}`;
    parts.downloadRow.hidden = false;
    const size = output.width ? `${output.width} × ${output.height} pixels, ` : "";
    setState(entry, "done", `Done: ${size}${formatBytes(output.bytes)}`);
  }

  // Shows the pixelated image once it has loaded. Formats a browser cannot display (TIFF, HEIC: the
  // service answers in the format it was given) are still a success: the download link stays.
  function showResult(entry, record, options) {
    const output = record.output || {};
    const image = document.createElement("img");
    image.className = "result-image";
    image.dataset.testid = "result-image";
    image.alt = `${entry.file.name} pixelated at ${describeOptions(options)}`;
    image.width = output.width || entry.parts.preview.width;
    image.height = output.height || entry.parts.preview.height;
    image.decoding = "async";
    return new Promise((resolve) => {
      image.addEventListener("load", () => {
        finishDone(entry, record, options, image);
        resolve();
      }, { once: true });
      image.addEventListener("error", async () => {
        let exists = false;
        try {
          exists = (await fetch(record.image_url, { method: "HEAD", cache: "no-store" })).ok;
        } catch {
          exists = false;
        }
        if (exists) {
          const note = document.createElement("p");
          note.className = "no-display";
          note.textContent = `This browser cannot display ${formatName(output.content_type)} images: download the result to see it.`;
          finishDone(entry, record, options, note);
        } else {
          setState(entry, "failed", "Failed");
          showError(entry, "The pixelated image was made but could not be loaded. Please reload the page and try again.");
        }
        resolve();
      }, { once: true });
      image.src = record.image_url;
    });
  }

  async function process(entry, options) {
    const { parts } = entry;
    parts.errorSlot.replaceChildren();
    try {
      setState(entry, "requesting", "Preparing the upload…");
      const busy = (seconds) => { parts.state.textContent = `The service is busy: trying again in ${seconds} s…`; };
      const slot = await requestUpload(entry.file, options, busy);
      setState(entry, "uploading", "Uploading… 0%");
      await postToStorage(slot.upload, entry.file, (fraction) => {
        setProgress(entry, fraction);
        entry.parts.state.textContent = `Uploading… ${Math.round(fraction * 100)}%`;
      });
      setProgress(entry, 1);
      setState(entry, "processing", "Uploaded. Pixelating…");
      const record = await followStatus(slot.id, () => {
        parts.state.textContent = "Still pixelating: this is taking longer than usual…";
      }, busy);
      if (record.state === "done" && record.image_url) {
        await showResult(entry, record, options);
      } else {
        setState(entry, "failed", "Failed");
        showError(entry, record.state === "done"
          ? "The image was pixelated but the service gave no address for it. Please try again."
          : describeFailure(record));
      }
    } catch (error) {
      setState(entry, "failed", "Failed");
      showError(entry, error.message || String(error));
    }
  }

  // Uploads pending files, a few at a time, each with the options shown when the button was pressed.
  async function uploadPending() {
    const options = currentOptions();
    const queue = entries.filter((e) => e.state === "pending");
    for (const entry of queue) setState(entry, "queued", "Waiting to upload…");
    const workers = Array.from({ length: Math.min(PARALLEL_UPLOADS, queue.length) }, async () => {
      while (queue.length) await process(queue.shift(), options);
    });
    await Promise.all(workers);
  }

  // ---- wiring ---------------------------------------------------------------------------------------

  function showSliderValue() {
    const value = clampPixelSize(slider.value);
    sliderValue.textContent = `${value} px`;
    slider.setAttribute("aria-valuetext", `${value} pixels`);
  }

  slider.addEventListener("input", () => {
    showSliderValue();
    queueRender();
  });
  form.addEventListener("change", (event) => {
    if (event.target.name === "method") queueRender();
  });

  fileInput.addEventListener("change", () => {
    addFiles(fileInput.files);
    fileInput.value = ""; // so choosing the same file again adds it again
  });

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (uploadButton.getAttribute("aria-disabled") === "true") return;
    uploadPending();
  });

  clearButton.addEventListener("click", () => {
    for (const entry of entries.filter((e) => e.state === "done" || e.state === "failed")) removeEntry(entry);
  });

  // Files may be dropped anywhere on the page; the drop zone lights up while something is dragged over.
  let dragDepth = 0;
  const hasFiles = (event) => Array.from(event.dataTransfer ? event.dataTransfer.types : []).includes("Files");
  window.addEventListener("dragenter", (event) => {
    if (!hasFiles(event)) return;
    dragDepth += 1;
    dropzone.classList.add("dragging");
  });
  window.addEventListener("dragleave", () => {
    dragDepth = Math.max(0, dragDepth - 1);
    if (dragDepth === 0) dropzone.classList.remove("dragging");
  });
  window.addEventListener("dragover", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault(); // allow the drop (and keep the browser from opening the file instead)
    event.dataTransfer.dropEffect = "copy";
  });
  window.addEventListener("drop", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    dragDepth = 0;
    dropzone.classList.remove("dragging");
    addFiles(event.dataTransfer.files);
  });

  slider.min = String(PIXEL_SIZE_MIN);
  slider.max = String(PIXEL_SIZE_MAX);
  showSliderValue();
  refreshControls();
})();
